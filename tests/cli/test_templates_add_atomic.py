"""`baton templates add`: a template is live only once its ``template_saved`` event is recorded,
and savers of one name at the same time get distinct versions, each event naming its own file.

Found by review: with the database unreachable (or locked) the command failed with a database
error, but the pre-approved template file was already in place, and `baton plan` made standard
changes from it with no ``template_saved`` in the ledger. Two users adding one name at once
both printed "saved template X v1": the ledger held two v1 events, one file survived, and the
last v1 event described the file that had been overwritten.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from baton.usecases.templates import add_template_file
from executor.ledger import EventKind
from executor.store.db import is_database_error, make_engine
from executor.store.migrate import upgrade
from planner.templates import TemplateLibrary
from tests.support.cli_in_process import in_process_baton
from tests.support.gate_services import ALICE, BACKENDS, ROOT, database_url, services_on
from tests.usecases.test_plan_version_recorded_atomically import refuse_ledger_kind

ROOT_DIR = Path(__file__).resolve().parents[2]
NAME = "read-one"
TEMPLATE = {
    "name": NAME, "example_goals": ["Read notes.txt"], "patterns": ["read {path}"],
    "params": [{"name": "path", "pattern": "^[a-z.]+$"}],
    "plan": {"steps": [{"id": "load", "tool": "files.read", "args": {"path": "{{path}}"}}]},
}
CONFIG = 'workspace = "ws"\n[users.alice]\nroles = ["analyst"]\n[users.root]\nroles = ["admin"]\n'


def _template_file(directory: Path, stem: str, **changes: object) -> Path:
    path = directory / f"{stem}.yaml"
    path.write_text(yaml.safe_dump({**TEMPLATE, **changes}))
    return path


def _entries(templates: Path) -> list[str]:
    """Everything in the templates directory, hidden names too (a claim left behind)."""
    return sorted(os.listdir(templates)) if templates.exists() else []


def _saved_events(ledger) -> list[tuple[str, int, bool, str | None, str]]:  # noqa: ANN001
    return [(e.actor, e.payload["version"], e.payload["pre_approved"], e.payload["approved_by"],
             e.payload["file"])
            for e in ledger.events(kinds=[EventKind.TEMPLATE_SAVED.value])]


def _live(templates: Path) -> dict[int, tuple[bool, str | None]]:
    """Each live version of NAME: (pre_approved, approved_by), as a fresh process reads it."""
    library = TemplateLibrary.load([templates])
    if NAME not in library.names():
        return {}
    return {t.version: (t.pre_approved, t.approved_by) for t in library.versions(NAME)}


def assert_ledger_describes_the_live_files(ledger, templates: Path) -> None:  # noqa: ANN001
    """One event per live version, naming that file and saying what it says; no other event."""
    events = _saved_events(ledger)
    live = _live(templates)
    assert sorted(version for _, version, *_ in events) == sorted(live), (events, live)
    for actor, version, pre_approved, approved_by, file in events:
        assert Path(file) == templates / f"{NAME}.v{version}.yaml"
        assert live[version] == (pre_approved, approved_by), (version, events, live)


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    with database_url(request.param, tmp_path) as made:
        yield made


@pytest.fixture
def opened(url, tmp_path):
    """``opened()``: new Services (a process started now) on one database and templates dir."""
    made = []

    def open_services():
        services = services_on(url, tmp_path, templates_dir=tmp_path / "templates")
        made.append(services)
        return services

    yield open_services
    for services in made:
        if "engine" in services.__dict__:
            services.engine.dispose()


# A failure to record leaves nothing behind.

def test_a_template_whose_event_the_database_refuses_is_not_left_live(opened, tmp_path):
    services = opened()
    refuse_ledger_kind(services.engine, EventKind.TEMPLATE_SAVED)
    with pytest.raises(Exception) as failed:
        add_template_file(services, _template_file(tmp_path, "pre", pre_approved=True), ROOT)
    assert is_database_error(failed.value), failed.value
    assert _entries(tmp_path / "templates") == []  # no file, and no claim left behind
    assert NAME not in opened().template_library.names()
    assert _saved_events(services.ledger) == []


def test_while_its_event_is_being_recorded_the_template_is_not_yet_live(opened, tmp_path,
                                                                        monkeypatch):
    services = opened()
    append = services.ledger.append
    seen = []

    def recording(kind, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if kind is EventKind.TEMPLATE_SAVED:
            seen.append(_live(tmp_path / "templates"))
        return append(kind, *args, **kwargs)

    monkeypatch.setattr(services.ledger, "append", recording)
    saved = add_template_file(services, _template_file(tmp_path, "pre", pre_approved=True), ROOT)
    assert seen == [{}]  # a plan made meanwhile could not have matched it
    assert _live(tmp_path / "templates") == {1: (True, "root")} and saved.version == 1
    assert_ledger_describes_the_live_files(services.ledger, tmp_path / "templates")


# Savers of one name at the same time.

def test_two_savers_who_read_the_library_before_either_saved_get_v1_and_v2(opened, tmp_path,
                                                                            monkeypatch):
    """As two processes do: each read the library (no version yet), then both save."""
    both_read = threading.Barrier(2, timeout=60)  # a hang guard, not a timing
    save = TemplateLibrary.save

    def save_once_both_have_read(library, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        both_read.wait()
        return save(library, *args, **kwargs)

    monkeypatch.setattr(TemplateLibrary, "save", save_once_both_have_read)
    results: dict[str, object] = {}

    def add(user, path):  # noqa: ANN001, ANN202
        try:
            results[user.id] = add_template_file(opened(), path, user)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[user.id] = exc

    threads = [threading.Thread(target=add, args=(ROOT, _template_file(tmp_path, "pre",
                                                                       pre_approved=True))),
               threading.Thread(target=add, args=(ALICE, _template_file(tmp_path, "plain")))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.version for r in results.values()) == [1, 2], results
    assert _live(tmp_path / "templates") == {
        results["root"].version: (True, "root"), results["alice"].version: (False, None)}
    assert_ledger_describes_the_live_files(opened().ledger, tmp_path / "templates")


def test_a_save_while_another_is_recording_its_event_takes_the_next_version(opened, tmp_path,
                                                                            monkeypatch):
    """The first saver has claimed v1 but is not live yet: the second must not take v1."""
    first, second = opened(), opened()
    append = first.ledger.append
    during = []

    def recording(kind, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if kind is EventKind.TEMPLATE_SAVED and not during:
            during.append(add_template_file(second, _template_file(tmp_path, "plain"), ALICE))
        return append(kind, *args, **kwargs)

    monkeypatch.setattr(first.ledger, "append", recording)
    saved = add_template_file(first, _template_file(tmp_path, "pre", pre_approved=True), ROOT)
    assert (saved.version, during[0].version) == (1, 2)
    assert _live(tmp_path / "templates") == {1: (True, "root"), 2: (False, None)}
    assert_ledger_describes_the_live_files(first.ledger, tmp_path / "templates")


@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_adding_one_name_at_once_each_get_their_own_version(backend, tmp_path):
    with database_url(backend, tmp_path) as url:
        (tmp_path / "baton.toml").write_text(CONFIG)
        (tmp_path / "ws").mkdir()
        env = dict(os.environ, PYTHONPATH=str(ROOT_DIR), BATON_DATABASE_URL=url)
        engine = make_engine(url)
        upgrade(engine)  # made once before: the race under test is the templates', not this
        engine.dispose()
        users = ["root", "alice"] * 2
        files = [_template_file(tmp_path, f"t{i}", pre_approved=user == "root",
                                description=f"saved by process {i}")
                 for i, user in enumerate(users)]
        started = [subprocess.Popen([sys.executable, "-m", "baton", "--as", user, "templates",
                                     "add", str(path)], cwd=tmp_path, env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                   for user, path in zip(users, files, strict=True)]
        done = []
        for process in started:
            out, err = process.communicate(timeout=120)
            done.append((process.returncode, out, err))
        said = []
        for code, out, err in done:
            assert code == 0, (code, out, err)
            said.append(int(re.search(rf"saved template {NAME} v(\d+)\b", out)[1]))
        assert sorted(said) == [1, 2, 3, 4], done
        templates = tmp_path / ".baton" / "templates"
        assert _entries(templates) == [f"{NAME}.v{v}.yaml" for v in (1, 2, 3, 4)]
        library = TemplateLibrary.load([templates])
        for index, version in enumerate(said):  # what each process said it saved, it saved
            assert library.get(NAME, version).description == f"saved by process {index}"
        services = services_on(url, tmp_path)
        try:
            assert_ledger_describes_the_live_files(services.ledger, templates)
        finally:
            services.engine.dispose()


# The command line, with a database that cannot record.

def test_an_unreachable_database_leaves_no_template_file(data_dir, capsys):
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    path = _template_file(data_dir, "pre", pre_approved=True)
    with in_process_baton(capsys) as cli:
        refused = cli("--as", "root", "templates", "add", str(path),
                      env={"BATON_DATABASE_URL": "postgresql+psycopg://baton@127.0.0.1:1/baton"})
    assert refused.returncode == 1, refused
    assert "127.0.0.1" in refused.stderr and "saved template" not in refused.stdout
    assert _entries(data_dir / ".baton" / "templates") == []


def test_a_locked_sqlite_database_leaves_no_template_file_and_a_retry_saves_v1(
        data_dir, capsys, monkeypatch):
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    (data_dir / "notes.txt").write_text("hello\n")
    path = _template_file(data_dir, "pre", pre_approved=True)
    database = data_dir / ".baton" / "baton.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()
    monkeypatch.setattr("executor.store.db.SQLITE_BUSY_TIMEOUT_MS", 50)  # locked: fail soon
    holder = sqlite3.connect(database, isolation_level=None)
    with in_process_baton(capsys) as cli:
        holder.execute("BEGIN EXCLUSIVE")
        try:
            refused = cli("--as", "root", "templates", "add", str(path))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert refused.returncode == 1, refused
        assert "locked" in refused.stderr
        assert _entries(data_dir / ".baton" / "templates") == []
        planned = cli("--as", "alice", "plan", "--json", "read notes.txt")
        assert "pre-approved template" not in planned.stdout  # nothing to make it standard
        saved = cli("--as", "root", "templates", "add", str(path))
        assert saved.returncode == 0, saved.stderr
        assert f"saved template {NAME} v1 (pre-approved)" in saved.stdout
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            kinds = conn.execute(text("SELECT payload FROM ledger WHERE kind = 'template_saved'"))
            assert [json.loads(p)["version"] for (p,) in kinds] == [1]
    finally:
        engine.dispose()
