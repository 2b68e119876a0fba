"""`baton run` and `baton approve` once a demoted pre-approver has the role back.

The walkthrough that found it: bob pre-approved a template (root here), alice's plan from
it was a standard change; bob was demoted, so the plan's decision was taken again and it
waited for an approval; bob got the role back, yet `baton run` still said "pending_approval,
not approved" and `baton approve` said "needs no approval" (exit 1), having made it approved.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import CONFIG

TEMPLATE = """
name: overwrite-b
description: Overwrite b.csv with a fixed line.
pre_approved: true
example_goals: ["Overwrite b.csv"]
patterns: ["overwrite {target}"]
params:
  - {name: target, enum: [b.csv]}
plan:
  steps:
    - {id: save, tool: files.write, args: {path: "{{target}}", text: "changed", overwrite: true}}
"""
DEMOTED = CONFIG.replace('[users.root]\nroles = ["admin"]', '[users.root]\nroles = ["analyst"]')


@pytest.fixture
def held(cli, data_dir) -> str:
    """alice's standard change from root's template, refused a run while root was demoted."""
    assert DEMOTED != CONFIG
    (data_dir / "own.yaml").write_text(TEMPLATE)
    assert cli("--as", "root", "templates", "add", "own.yaml").returncode == 0
    planned = cli("--as", "alice", "plan", "--json", "Overwrite b.csv")
    assert json.loads(planned.stdout)["status"] == "approved", planned.stdout
    plan_id = json.loads(planned.stdout)["plan_id"]
    (data_dir / "baton.toml").write_text(DEMOTED)
    refused = cli("--as", "alice", "run", plan_id)
    assert refused.returncode == 1 and "needs 1 more approval" in refused.stderr
    (data_dir / "baton.toml").write_text(CONFIG)
    return plan_id


def _status(cli, plan_id) -> str:
    [plan] = [p for p in json.loads(cli("plans", "list", "--json").stdout)
              if p["plan_id"] == plan_id]
    return plan["status"]


def test_the_standard_change_runs_once_its_pre_approver_has_the_role_back(cli, data_dir, held):
    ran = cli("--as", "alice", "run", held)
    assert ran.returncode == 0, ran.stderr
    assert (data_dir / "ws" / "b.csv").read_text() == "changed"


def test_approving_it_says_it_needs_no_approval_now_and_exits_0(cli, held):
    approved = cli("--as", "bob", "approve", held)
    assert approved.returncode == 0, approved.stderr
    assert "the decision was taken again: it needs no approval now" in approved.stdout
    assert _status(cli, held) == "approved"
    assert cli("--as", "alice", "run", held).returncode == 0


def test_approving_it_with_json_prints_the_approved_gate(cli, held):
    approved = cli("--as", "bob", "approve", held, "--json")
    assert approved.returncode == 0, approved.stderr
    gate = json.loads(approved.stdout)
    assert gate["status"] == "approved" and gate["valid_approvals"] == []
    assert "the decision was taken again: it needs no approval now" in gate["reasons"]
