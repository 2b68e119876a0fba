"""Roles and other names from settings print as written, whatever brackets they hold.

A role comes from the policy data (``[policy.data.approval] roles``) and may be
``approver[eu]`` or ``ops[/x]``: put into rich markup as it was, the first was read as a
style (the gate line said "role approver or") and the second as a closing tag
(``MarkupError``: a traceback and exit 1 after the plan was stored).
"""

from __future__ import annotations

import json

import pytest

from tests.support.cli_in_process import in_process_baton

CONFIG = """
[users.alice]
roles = ["analyst"]

[users.boss]
roles = ["approver[eu]"]

[users.dave]
roles = ["auditor"]

[policy.data.approval]
roles = ["approver[eu]", "ops[/x]"]
two_person_risk = 60
"""
WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "b.csv", "text": {"ref": "load.text"}}}]}
NEEDS = "needs 1 more approval(s) from a user with role approver[eu] or ops[/x]"


@pytest.fixture
def cli(data_dir, capsys):
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    (data_dir / "ws" / "a.csv").write_text("region,total\nnorth,3\n")
    (data_dir / "write.json").write_text(json.dumps(WRITE_PLAN))
    with in_process_baton(capsys) as run:
        yield run


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_plan_names_the_bracketed_roles_it_waits_for(cli):
    planned = cli("--as", "alice", "plan", "--file", "write.json")
    assert planned.returncode == 0, planned.stderr
    assert "Traceback" not in planned.stderr
    assert NEEDS in _flat(planned.stdout)


def test_plans_show_and_approve_print_the_bracketed_roles(cli):
    planned = cli("--as", "alice", "plan", "--file", "write.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    shown = cli("--as", "dave", "plans", "show", plan_id)
    assert shown.returncode == 0, shown.stderr
    assert NEEDS in _flat(shown.stdout)
    approved = cli("--as", "boss", "approve", plan_id)
    assert approved.returncode == 0, approved.stderr
    assert "approved by boss" in _flat(approved.stdout)
