"""``runs show`` and the step table of ``run`` mark each text they cut, and show outputs as JSON.

Errors and outputs were cut at 100 (80 in the live table) characters with nothing to say
so, and an output showed as a Python ``repr`` (``{'bytes': 301, ...}``), not the JSON the
run stored and ``--json`` gives.
"""

from __future__ import annotations

import json

import pytest

from baton.cli.common import console
from tests.support.cli_in_process import in_process_baton

CONFIG = 'workspace = "ws"\n\n[users.alice]\nroles = ["analyst"]\n'
LONG_NAME = "n" * 150 + ".txt"


@pytest.fixture
def cli(data_dir, capsys, monkeypatch):
    # Wide enough for no cell to wrap (COLUMNS is read once, where pytest's workers set it).
    monkeypatch.setattr(console, "_width", 400)
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    (data_dir / "ws" / "long.txt").write_text("x" * 300)
    with in_process_baton(capsys) as run:
        yield run


def _run(cli, data_dir, path: str):
    (data_dir / "p.json").write_text(json.dumps({"goal": "read", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": path}}]}))
    planned = cli("--as", "alice", "plan", "--file", "p.json", "--json")
    assert planned.returncode == 0, planned.stderr
    ran = cli("--as", "alice", "run", json.loads(planned.stdout)["plan_id"])
    run_id = json.loads(cli("runs", "list", "--json").stdout)[0]["id"]
    return ran, run_id


def _cells(text: str, row_start: str) -> list[str]:
    """The cells of each table row whose first cell is ``row_start``."""
    return [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in text.splitlines() if line.startswith(f"│ {row_start}")]


def test_runs_show_gives_an_output_as_json_cut_with_a_mark(cli, data_dir):
    _, run_id = _run(cli, data_dir, "long.txt")
    shown = cli("runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    [row] = _cells(shown.stdout, "load")
    output = row[4]
    stored = json.dumps(json.loads(cli("runs", "show", run_id, "--json").stdout)["steps"][0]
                        ["output"], ensure_ascii=False)
    assert output.endswith("…") and len(output) == 100, output
    assert stored.startswith(output[:-1]), (output, stored)


def test_runs_show_and_the_step_table_mark_a_cut_error(cli, data_dir):
    ran, run_id = _run(cli, data_dir, LONG_NAME)
    assert ran.returncode == 1
    [live] = _cells(ran.stdout, "load")
    assert live[3].endswith("…") and len(live[3]) == 80, live
    shown = cli("runs", "show", run_id)
    rows = _cells(shown.stdout, "load") + _cells(shown.stdout, "   ")
    errors = [row[4] for row in rows]
    assert errors and all(e.startswith("cannot read") and e.endswith("…") for e in errors), rows
    assert all(len(e) == 100 for e in errors), errors


def test_a_short_output_is_shown_whole_without_a_mark(cli, data_dir):
    (data_dir / "ws" / "long.txt").write_text("x")
    _, run_id = _run(cli, data_dir, "long.txt")
    shown = cli("runs", "show", run_id, "--json")
    output = json.loads(shown.stdout)["steps"][0]["output"]
    text = json.dumps(output, ensure_ascii=False)
    if len(text) <= 100:
        [row] = _cells(cli("runs", "show", run_id).stdout, "load")
        assert row[4] == text
