"""`templates list`, `plans list` and `audit show` never cut or wrap an id at 80 columns.

An id (a template name, a plan id, a ledger subject) is copied into the next command, so
it prints whole on one line; the other columns wrap instead, and are never cut either.
"""

from __future__ import annotations

import json
import re

import pytest

from baton.cli.common import console

LONG_WORD_GOAL = {
    "goal": "copy https://files.internal.example/exports/2025/quarterly-sales-by-region-and-"
            "product-line.csv into the archive",
    "steps": [{"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]}


@pytest.fixture
def narrow(monkeypatch):
    """Print as into a pipe or an 80-column terminal, whatever terminal runs the tests."""
    monkeypatch.setattr(console, "_width", 80)


def _rows_start_with(out: str, first_cells: list[str]) -> None:
    """Each id is the whole first cell of a table row, and no line passes 80 columns."""
    assert max(map(len, out.splitlines())) <= 80, out
    for cell in first_cells:
        assert re.search(rf"^│ {re.escape(cell)} +│", out, re.M), (cell, out)


def test_templates_list_never_cuts_a_template_name_at_80_columns(cli, narrow):
    names = [t["name"] for t in json.loads(cli("templates", "list", "--json").stdout)]
    assert "csv-summary-by-group" in names
    listed = cli("templates", "list").stdout
    _rows_start_with(listed, names)
    assert "…" not in listed, listed  # the example goals wrap, never cut


def test_plans_list_never_cuts_a_plan_id_when_a_goal_holds_a_long_word(cli, data_dir, narrow):
    (data_dir / "long.json").write_text(json.dumps(LONG_WORD_GOAL))
    planned = cli("--as", "alice", "plan", "--file", "long.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    listed = cli("plans", "list").stdout
    _rows_start_with(listed, [plan_id])
    assert "…" not in listed, listed  # the status and the goal wrap, never cut


def test_audit_show_never_splits_a_subject_id_across_lines_at_80_columns(cli, plan_id, narrow):
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    assert cli("--as", "alice", "run", plan_id).returncode == 0
    assert cli("--as", "alice", "templates", "add", "template.yaml").returncode == 0
    events = json.loads(cli("audit", "show", "--json").stdout)
    subjects = {e["subject"] for e in events}
    assert any(s.startswith("r-") for s in subjects) and "template:read-one" in subjects
    shown = cli("audit", "show").stdout
    assert max(map(len, shown.splitlines())) <= 80, shown
    for event in events:
        assert re.search(rf"^│ {event['seq']} +│ .*│ {re.escape(event['subject'])} +│", shown,
                         re.M), (event, shown)
