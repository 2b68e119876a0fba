"""A SQLite URL naming no file is a configuration error: every record would die with the process.

Before, ``BATON_DATABASE_URL=sqlite://`` passed the settings check: ``baton plan`` printed a
plan id and exited 0, and the next command said "no plans yet".
"""

from __future__ import annotations

import json

import pytest

from baton.settings_checks import database_url_problem
from tests.cli.conftest import CONFIG, WRITE_PLAN
from tests.support.cli_in_process import in_process_baton

IN_MEMORY = [
    "sqlite://",
    "sqlite+pysqlite://",
    "sqlite:///:memory:",
    "sqlite:///file::memory:?uri=true",
    "sqlite:///file:kept?mode=memory&cache=shared&uri=true",
    "sqlite:///file:kept?mode=MEMORY&uri=true",
]


@pytest.fixture
def baton(data_dir, capsys):
    """``baton`` in-process in a directory with users and a plan file."""
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    (data_dir / "write.json").write_text(json.dumps(WRITE_PLAN))
    with in_process_baton(capsys) as run:
        yield run


def assert_lost_records_refused(done, *names: str) -> None:
    """Exit 2, one ``error:`` line naming ``database_url``, the cause and each of ``names``."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    for name in ("database_url", "lost when the process ends", *names):
        assert name in lines[0], (name, lines[0])
    assert done.stdout == ""


@pytest.mark.parametrize("url", IN_MEMORY)
def test_planning_into_an_in_memory_database_is_a_configuration_error(baton, url):
    done = baton("--as", "alice", "plan", "--file", "write.json",
                 env={"BATON_DATABASE_URL": url})
    assert_lost_records_refused(done, "BATON_DATABASE_URL")


def test_an_in_memory_database_in_the_settings_file_is_named_with_the_file(baton, data_dir):
    (data_dir / "baton.toml").write_text('database_url = "sqlite:///:memory:"\n' + CONFIG)
    assert_lost_records_refused(baton("plans", "list"), "baton.toml")


@pytest.mark.parametrize("url", [
    "sqlite:///",
    "sqlite:///file:kept%3Fmode%3Dmemory?uri=true",  # the mode inside the file: URI itself
    "sqlite:///file:kept?mode=ro&mode=memory&uri=true",
    "sqlite:///file::memory:?cache=shared&uri=true",
])
def test_every_in_memory_form_is_refused(url):
    assert "lost when the process ends" in (database_url_problem(url) or "")


@pytest.mark.parametrize("url", [
    "sqlite:///baton.db",
    "sqlite:////var/lib/baton/baton.db",
    "sqlite:///file:baton.db?mode=rwc&uri=true",
    "sqlite:///memory.db",
])
def test_a_sqlite_file_is_still_a_database(url):
    assert database_url_problem(url) is None


def test_a_file_database_keeps_what_plan_wrote(baton, data_dir):
    env = {"BATON_DATABASE_URL": f"sqlite:///{data_dir / 'kept.db'}"}
    planned = baton("--as", "alice", "plan", "--file", "write.json", "--json", env=env)
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    listed = baton("--as", "alice", "plans", "list", env=env)
    assert listed.returncode == 0 and plan_id in listed.stdout, listed
