"""`baton validate` and `baton policy eval` report an argument holding `[REDACTED]` as
`masked_value`, exit 1, as `baton plan --file` stores such a plan invalid."""

from __future__ import annotations

import json

import pytest

from tools.redaction import REDACTED

PLAN = {"goal": "write the note", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": f"key {REDACTED}"}}]}
EXPECTED = [("masked_value", "note", "$.steps[0].args.text")]


@pytest.fixture
def marked(data_dir):
    """A plan file whose argument holds the mask mark, copied from a masked view."""
    (data_dir / "marked.json").write_text(json.dumps(PLAN))
    return "marked.json"


def _problems(stdout: str) -> list[tuple]:
    return [(p["code"], p["step"], p["path"]) for p in json.loads(stdout)["problems"]]


def test_validate_reports_the_mask_mark_in_an_argument(cli, marked):
    shown = cli("validate", marked)
    assert shown.returncode == 1
    assert "masked_value step note at $.steps[0].args.text" in " ".join(shown.stdout.split())
    as_json = cli("validate", marked, "--json")
    assert as_json.returncode == 1 and _problems(as_json.stdout) == EXPECTED


def test_policy_eval_refuses_it_without_deciding(cli, marked):
    evaluated = cli("--as", "alice", "policy", "eval", marked, "--json")
    assert evaluated.returncode == 1 and _problems(evaluated.stdout) == EXPECTED


def test_the_problems_are_the_ones_plan_file_stores(cli, marked):
    planned = cli("--as", "alice", "plan", "--file", marked, "--json")
    assert planned.returncode == 1
    stored = [(p["code"], p["step"], p["path"], p["message"])
              for p in json.loads(planned.stdout)["problems"]]
    validated = cli("validate", marked, "--json")
    assert [(p["code"], p["step"], p["path"], p["message"])
            for p in json.loads(validated.stdout)["problems"]] == stored
