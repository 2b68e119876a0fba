"""A workspace that contains the data directory (``workspace = "."``, ``data_dir = ".baton"``)
must not hand Baton's own state to a plan: ``files.*`` refuse every path that resolves into
the data directory (the web key, the artifacts, the SQLite database), symlinks included, and
the settings file, whatever the plan said and whoever approved it."""

from __future__ import annotations

import json
import os

import pytest

from tests.support.cli_in_process import in_process_baton
from tests.support.gate_services import BACKENDS, database_url

KEY = "k" * 24 + "0123456789abcdef"  # what a server made: never a plan's output
CONFIG = """
data_dir = ".baton"
workspace = "."

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]
"""


@pytest.fixture(params=BACKENDS)
def baton(request, data_dir, capsys):
    """``baton`` over a workspace holding its own data directory, with a web key in it."""
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / ".baton").mkdir()
    (data_dir / ".baton" / "web_secret.key").write_text(KEY)
    (data_dir / "sales.csv").write_text("region,total\nnorth,3\n")
    with database_url(request.param, data_dir) as url, in_process_baton(capsys) as run:
        yield lambda *args: run(*args, env={"BATON_DATABASE_URL": url})


def _run_one_step(baton, tool: str, args: dict, *, approver: str | None = None):
    plan = {"goal": "look around", "steps": [{"id": "s", "tool": tool, "args": args}]}
    with open("plan.json", "w", encoding="utf-8") as handle:
        json.dump(plan, handle)
    planned = baton("--as", "alice", "plan", "--file", "plan.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    if approver is not None:
        assert baton("--as", approver, "approve", plan_id).returncode == 0
    ran = baton("--as", "alice", "run", plan_id, "--json")
    return ran, json.loads(ran.stdout) if ran.stdout.strip() else {}


def _refused(ran, record: dict, shown: str) -> str:
    """The step's error, checked to refuse ``shown`` as (inside) Baton's data directory."""
    assert ran.returncode != 0, ran.stdout
    assert KEY not in ran.stdout + ran.stderr
    error = record["steps"][0]["error"] if record.get("steps") else ran.stdout + ran.stderr
    assert f"path {shown!r} is" in error and "Baton's data directory (data_dir)" in error, error
    return error


def test_reading_the_web_key_through_the_workspace_is_refused(baton):
    ran, record = _run_one_step(baton, "files.read", {"path": ".baton/web_secret.key"})
    error = _refused(ran, record, ".baton/web_secret.key")
    assert "is inside Baton's data directory" in error and "Baton's own state" in error


def test_a_symlink_into_the_data_directory_is_refused_too(baton, data_dir):
    os.symlink(".baton", data_dir / "innocent")
    ran, record = _run_one_step(baton, "files.read", {"path": "innocent/web_secret.key"})
    _refused(ran, record, "innocent/web_secret.key")


def test_overwriting_the_database_or_writing_into_the_data_directory_is_refused(baton, data_dir):
    before = {p: p.read_bytes() for p in (data_dir / ".baton").rglob("*") if p.is_file()}
    for path in (".baton/baton.db", ".baton/artifacts/planted"):
        ran, record = _run_one_step(baton, "files.write",
                                    {"path": path, "text": "x", "overwrite": True},
                                    approver="bob")
        _refused(ran, record, path)
    after = {p: p.read_bytes() for p in (data_dir / ".baton").rglob("*") if p.is_file()}
    assert {p: after[p] for p in before if p.name == "web_secret.key"} == \
        {p: before[p] for p in before if p.name == "web_secret.key"}
    assert not (data_dir / ".baton" / "artifacts" / "planted").exists()


def test_listing_the_data_directory_is_refused_and_a_listing_leaves_it_out(baton):
    ran, record = _run_one_step(baton, "files.list", {"path": ".baton"})
    _refused(ran, record, ".baton")
    ran, record = _run_one_step(baton, "files.list", {"path": ".", "pattern": "**/*"})
    assert ran.returncode == 0, ran.stderr
    listed = json.dumps(record)
    assert "sales.csv" in listed and "web_secret.key" not in listed


def test_the_settings_file_is_out_of_reach_as_well(baton):
    ran, record = _run_one_step(baton, "files.read", {"path": "baton.toml"})
    error = record["steps"][0]["error"]
    assert ran.returncode != 0 and "baton.toml" in error and "settings file" in error, error


def test_the_rest_of_the_workspace_is_read_as_before(baton):
    ran, record = _run_one_step(baton, "files.read", {"path": "sales.csv"})
    assert ran.returncode == 0, ran.stderr
    assert "north,3" in ran.stdout
