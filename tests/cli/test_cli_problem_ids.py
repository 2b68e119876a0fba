"""A problem naming a step id that holds a control character prints it escaped, on one line."""

from __future__ import annotations

import json

import pytest

from tests.support.cli_in_process import in_process_baton

BAD_ID = "save\n\x1b[2J"
SHOWN = "step save\\n\\x1b[2J"


@pytest.fixture
def baton(data_dir, monkeypatch, capsys):
    """``baton`` in-process, acting as an analyst, with a plan file whose step id is malformed."""
    (data_dir / "baton.toml").write_text('[users.alice]\nroles = ["analyst"]\n')
    monkeypatch.setenv("BATON_DATA_DIR", str(data_dir / "data"))
    monkeypatch.setenv("BATON_USER", "alice")
    step = {"id": BAD_ID, "tool": "files.read", "args": {"path": "a.txt"}}
    (data_dir / "bad.json").write_text(json.dumps({"goal": "g", "steps": [step]}))
    with in_process_baton(capsys) as run:
        yield run


def _problem_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "malformed_id" in line]


def test_validate_prints_the_id_escaped(baton):
    result = baton("validate", "bad.json")
    assert result.returncode == 1
    [line] = _problem_lines(result.stdout)
    assert f"{SHOWN} at $.steps[0].id" in line and "\x1b" not in result.stdout


def test_plan_and_plans_show_print_the_id_escaped(baton):
    planned = baton("plan", "--file", "bad.json")
    assert planned.returncode == 1
    [line] = _problem_lines(planned.stderr)
    assert f"{SHOWN}: $.steps[0].id" in line and "\x1b" not in planned.stderr
    plan_id = json.loads(baton("plans", "list", "--json").stdout)[0]["plan_id"]
    shown = baton("plans", "show", plan_id)
    assert SHOWN in shown.stdout and "\x1b" not in shown.stdout


def test_ordinary_ids_print_unchanged(baton, data_dir):
    step = {"id": "Save", "tool": "files.read", "args": {"path": "a.txt"}}
    (data_dir / "bad.json").write_text(json.dumps({"goal": "g", "steps": [step]}))
    [line] = _problem_lines(baton("validate", "bad.json").stdout)
    assert "step Save at $.steps[0].id" in line
