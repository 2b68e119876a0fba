"""Tables with id columns keep every column, whatever the width of the pipe or terminal.

Rich fits a table into the console by shrinking the columns it may wrap down to nothing; the
ids are never cut, so at 80 columns a 64-character template name left `at`, `kind` and the
payload of `baton audit show` zero cells wide. Every header (and so every column) must show,
and every id print whole: a table that cannot fit prints wider than the console.
"""

from __future__ import annotations

import json
import re

import pytest

from baton.cli.common import console
from tests.cli.conftest import TEMPLATE

LONG_NAME = "t" + "-long-template-name" * 3 + "-" + "x" * 5  # the longest allowed: 64 chars


@pytest.fixture
def long_template(cli, data_dir) -> str:
    """A template saved under a 64-character name (the longest allowed)."""
    assert len(LONG_NAME) == 64
    template = TEMPLATE.replace("name: read-one", f"name: {LONG_NAME}")
    (data_dir / f"{LONG_NAME}.yaml").write_text(template)
    added = cli("--as", "alice", "templates", "add", f"{LONG_NAME}.yaml")
    assert added.returncode == 0, added.stderr
    return LONG_NAME


def _has_headers(out: str, headers: list[str]) -> None:
    header_line = next(line for line in out.splitlines() if line.startswith("┃"))
    cells = [cell.strip() for cell in header_line.strip("┃").split("┃")]
    assert cells == headers, out


@pytest.mark.parametrize("width", [80, 40])
def test_every_column_and_whole_ids_show_in_a_narrow_pipe(cli, plan_id, long_template,
                                                         monkeypatch, width):
    monkeypatch.setattr(console, "_width", width)
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    assert cli("--as", "alice", "run", plan_id).returncode == 0
    run_id = json.loads(cli("runs", "list", "--json").stdout)[0]["id"]

    runs = cli("runs", "list").stdout
    _has_headers(runs, ["run", "plan", "v", "status", "by", "created", "error"])
    assert re.search(rf"^│ {re.escape(run_id)} +│ {re.escape(plan_id)} +│", runs, re.M), runs

    templates = cli("templates", "list").stdout
    _has_headers(templates, ["template", "v", "pre-approved", "params", "example goal"])
    assert re.search(rf"^│ {long_template} +│ 1 +│", templates, re.M), templates

    plans = cli("plans", "list").stdout
    _has_headers(plans, ["plan", "v", "status", "planner", "requester", "created", "goal"])
    assert re.search(rf"^│ {re.escape(plan_id)} +│", plans, re.M), plans

    shown = cli("audit", "show").stdout
    _has_headers(shown, ["seq", "at", "kind", "subject", "actor", "payload"])
    assert re.search(rf"^│ \d+ +│ .*│ template:{long_template} +│ alice +│", shown, re.M), shown
    assert re.search(rf"^│ \d+ +│ .*│ {re.escape(run_id)} +│", shown, re.M), shown


def test_a_table_that_fits_stays_within_the_console_width(cli, plan_id, monkeypatch):
    monkeypatch.setattr(console, "_width", 80)
    listed = cli("plans", "list").stdout
    assert max(map(len, listed.splitlines())) <= 80, listed
    _has_headers(listed, ["plan", "v", "status", "planner", "requester", "created", "goal"])
