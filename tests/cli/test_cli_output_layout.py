"""Output read by scripts and copied by people: the run summary starts its own line, ids are whole."""

from __future__ import annotations

import json
import re

import pytest

from baton.cli.common import console

MISSING_PLAN = {"goal": "copy a file that is not there", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "no-such-file-with-a-long-name.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "b.csv", "text": {"ref": "load.text"}}}]}


@pytest.fixture
def narrow(monkeypatch):
    """Print as into a pipe or an 80-column terminal, whatever terminal runs the tests."""
    monkeypatch.setattr(console, "_width", 80)


def _approved_run(cli, plan_id: str) -> str:
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    return cli("--as", "alice", "run", plan_id).stdout


def test_the_run_summary_starts_its_own_line_after_the_step_table(cli, plan_id):
    out = _approved_run(cli, plan_id)
    assert re.search(rf"^run r-[0-9a-f]+ of {plan_id} v1: succeeded$", out, re.M), out


def test_runs_list_never_cuts_a_run_or_plan_id_at_80_columns(cli, plan_id, data_dir, narrow):
    _approved_run(cli, plan_id)
    (data_dir / "missing.json").write_text(json.dumps(MISSING_PLAN))
    failing = json.loads(cli("--as", "alice", "plan", "--file", "missing.json", "--json").stdout)
    _approved_run(cli, failing["plan_id"])
    runs = json.loads(cli("runs", "list", "--json").stdout)
    assert len(runs) == 2 and runs[0]["error"]
    listed = cli("runs", "list").stdout
    assert "…" not in listed.split("error", 1)[0] and max(map(len, listed.splitlines())) <= 80
    for run in runs:
        assert re.search(rf"│ {run['id']} +│ {run['plan_id']} +│", listed), listed


def test_runs_show_never_cuts_a_step_id(cli, data_dir, narrow):
    long_id = "load_the_quarterly_export_of_each_region"
    plan = {"goal": "copy the export", "steps": [
        {"id": long_id, "tool": "files.read", "args": {"path": "a.csv"}}]}
    (data_dir / "long.json").write_text(json.dumps(plan))
    plan_id = json.loads(cli("--as", "alice", "plan", "--file", "long.json", "--json").stdout)["plan_id"]
    ran = cli("--as", "alice", "run", plan_id)
    assert ran.returncode == 0, ran.stderr
    assert f"│ {long_id} │" in ran.stdout
    run_id = json.loads(cli("runs", "list", "--json").stdout)[0]["id"]
    assert f"│ {long_id} │" in cli("runs", "show", run_id).stdout
