"""``baton audit show|verify|export`` on a SQLite data directory.

The CLI runs in-process (a subprocess costs about a second of start-up and imports); one test
runs ``python -m baton`` itself, so the real entry point writing to a pipe stays covered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from executor.ledger import GENESIS_HASH, Ledger, event_hash
from executor.store.db import make_engine
from executor.store.migrate import upgrade
from tests.support.cli_in_process import in_process_baton


@pytest.fixture
def db(tmp_path) -> str:
    """A SQLite URL whose ledger holds five events about two runs."""
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    engine = make_engine(url)
    upgrade(engine)
    ledger = Ledger(engine)
    for i in range(5):
        ledger.append("attempt_success" if i % 2 else "run_start", f"run{i % 2}", "executor", {"i": i})
    engine.dispose()
    return url


Baton = Callable[..., subprocess.CompletedProcess[str]]


def baton_process(args: list[str], db: str, cwd: Path,
                  **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATON_DATABASE_URL": db, **extra_env}
    return subprocess.run([sys.executable, "-m", "baton", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def baton(db, tmp_path, monkeypatch, capsys) -> Iterator[Baton]:
    """``baton(args, **extra_env)``: what ``baton_process`` gives in ``tmp_path``, in-process."""
    monkeypatch.chdir(tmp_path)
    with in_process_baton(capsys) as run:
        def on_db(args: list[str], **extra_env: str) -> subprocess.CompletedProcess[str]:
            return run(*args, env={"BATON_DATABASE_URL": db, **extra_env})

        yield on_db


def test_export_cloudevents_writes_structured_events_that_rechain(baton, tmp_path):
    out = tmp_path / "audit.jsonl"
    done = baton(["audit", "export", "--format", "cloudevents", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["id"] for e in events] == ["1", "2", "3", "4", "5"]
    first = events[0]
    assert {k: first[k] for k in ("specversion", "source", "type", "subject", "datacontenttype")} == {
        "specversion": "1.0", "source": f"baton:ledger:{first['data']['hash']}",
        "type": "dev.baton.run_start", "subject": "run0", "datacontenttype": "application/json"}
    assert {e["source"] for e in events} == {first["source"]}  # the ledger's, on every event
    assert first["time"].endswith("Z") and first["data"]["payload"] == {"i": 0}
    # The export alone is enough to re-verify the chain.
    from datetime import datetime

    prev = GENESIS_HASH
    for e in events:
        at = datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
        kind = e["type"].removeprefix("dev.baton.")
        data = e["data"]
        assert data["prev_hash"] == prev
        assert event_hash(prev, data["seq"], at, kind, e["subject"], data["actor"], data["payload"]) \
            == data["hash"]
        prev = data["hash"]


def _sources(done: subprocess.CompletedProcess[str]) -> set[str]:
    assert done.returncode == 0, done.stderr
    return {json.loads(line)["source"] for line in done.stdout.splitlines()}


def test_export_source_comes_from_the_option_then_the_setting_then_the_ledger(baton, db, tmp_path):
    engine = make_engine(db)
    first_hash = Ledger(engine).first()[1]
    engine.dispose()
    export = ["audit", "export", "--format", "cloudevents"]
    assert _sources(baton(export)) == {f"baton:ledger:{first_hash}"}
    (tmp_path / "baton.toml").write_text('[audit]\ncloudevents_source = "urn:acme:baton:prod"\n')
    assert _sources(baton(export)) == {"urn:acme:baton:prod"}
    assert _sources(baton(export, BATON_AUDIT_CLOUDEVENTS_SOURCE="/from/env")) == {
        "/from/env"}
    assert _sources(baton([*export, "--source", "https://audit.example.com/b"])) == {
        "https://audit.example.com/b"}


@pytest.mark.parametrize("value", ["", "   ", "urn:acme\nbaton"])
def test_export_refuses_a_source_that_is_not_a_uri_reference(baton, value):
    done = baton(["audit", "export", "--format", "cloudevents", "--source", value])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--source" in lines[0] and "URI-reference" in lines[0], done.stderr
    assert done.stdout == ""


def test_export_refuses_a_source_for_json_lines(baton):
    done = baton(["audit", "export", "--source", "urn:acme"])
    assert done.returncode == 2 and "--source" in done.stderr and "cloudevents" in done.stderr


def test_export_jsonl_of_one_subject_to_stdout(db, tmp_path):
    # A process of its own: the events go to a real pipe, the count to stderr.
    done = baton_process(["audit", "export", "--subject", "run1"], db, tmp_path)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(e["seq"], e["subject"]) for e in events] == [(2, "run1"), (4, "run1")]
    assert "exported 2 events" in done.stderr


def test_export_rejects_an_unknown_format(baton):
    done = baton(["audit", "export", "--format", "xml"])
    assert done.returncode == 2 and "unknown format" in done.stderr


def test_show_filters_by_kind_and_keeps_the_latest(baton):
    done = baton(["audit", "show", "--kind", "run_start", "--limit", "2", "--json"])
    assert done.returncode == 0, done.stderr
    assert [e["seq"] for e in json.loads(done.stdout)] == [3, 5]
    table = baton(["audit", "show", "--subject", "run1"])
    assert table.returncode == 0 and "attempt_success" in table.stdout and "run_start" not in table.stdout


def test_verify_rejects_a_malformed_head(baton):
    done = baton(["audit", "verify", "--expect-head", "5:nothex"])
    assert done.returncode == 2 and "SEQ:HASH" in done.stderr


def test_show_rejects_an_unknown_kind(baton):
    done = baton(["audit", "show", "--kind", "run_strat"])
    assert done.returncode == 2 and "unknown event kind run_strat" in done.stderr


def test_export_to_a_path_that_cannot_be_written_is_a_one_line_error(baton, tmp_path):
    done = baton(["audit", "export", "--out", str(tmp_path / "missing" / "x.jsonl")])
    assert done.returncode == 1
    assert "cannot write" in done.stderr and "No such file or directory" in done.stderr
    assert "Traceback" not in done.stderr
