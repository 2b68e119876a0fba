"""`baton run` and `baton approve` once an approval counts again (its approver has the role back).

The walkthrough that found it: a plan needs two approvers; bob approves, loses the approver
role, carol approves, bob has the role back. `baton plans show` said `gate: approved`, but
`baton run` exited 1 (`… is pending_approval, not approved`) and bob and carol were both
refused as having approved already: stuck until a third approver came or someone revised.
"""

from __future__ import annotations

import json

import pytest

CONFIG = """
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["{bob}"]

[users.carol]
roles = ["approver"]

[policy.data.approval]
roles = ["approver", "admin"]
two_person_risk = 1
"""
COMPLETE = "the gate is complete with the approvals that count now: it is approved"


def _settings(data_dir, bob_role: str) -> None:
    (data_dir / "baton.toml").write_text(CONFIG.replace("{bob}", bob_role))


@pytest.fixture
def stuck(cli, data_dir) -> str:
    """A plan bob and carol approved, bob without the role when carol did; bob has it back."""
    _settings(data_dir, "approver")
    planned = cli("--as", "alice", "plan", "--file", "write.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    _settings(data_dir, "analyst")
    carol = cli("--as", "carol", "approve", plan_id)
    assert carol.returncode == 0 and "needs 1 more approval" in carol.stdout, carol.stdout
    _settings(data_dir, "approver")
    assert "gate: approved" in cli("plans", "show", plan_id).stdout
    assert _status(cli, plan_id) == "pending_approval"
    return plan_id


def _status(cli, plan_id) -> str:
    [plan] = [p for p in json.loads(cli("plans", "list", "--json").stdout)
              if p["plan_id"] == plan_id]
    return plan["status"]


def test_the_plan_runs(cli, data_dir, stuck):
    ran = cli("--as", "alice", "run", stuck)
    assert ran.returncode == 0, ran.stderr
    assert (data_dir / "ws" / "b.csv").read_text() == "region,total\nnorth,3\n"
    assert _status(cli, stuck) == "approved"


@pytest.mark.parametrize("approver", ["bob", "carol"])
def test_approving_it_again_says_the_gate_is_complete_and_exits_0(cli, stuck, approver):
    approved = cli("--as", approver, "approve", stuck)
    assert approved.returncode == 0, approved.stderr
    said = " ".join(approved.stdout.split())  # as printed, wrapped at the terminal's width
    assert f"{stuck} v1: {COMPLETE} (no new approval recorded: {approver}'s already counts)" in said
    assert _status(cli, stuck) == "approved"
    assert cli("--as", "alice", "run", stuck).returncode == 0


def test_approving_it_with_json_prints_the_approved_gate(cli, stuck):
    approved = cli("--as", "bob", "approve", stuck, "--json")
    assert approved.returncode == 0, approved.stderr
    gate = json.loads(approved.stdout)
    assert gate["status"] == "approved" and COMPLETE in gate["reasons"]
    assert [a["actor"] for a in gate["valid_approvals"]] == ["bob", "carol"]


def test_the_ledger_says_why_it_was_approved_without_a_new_approval(cli, stuck):
    assert cli("--as", "alice", "run", stuck).returncode == 0
    events = json.loads(cli("audit", "show", "--json").stdout)
    [completed] = [e for e in events if e["kind"] == "gate_complete" and e["actor"] == "gate"]
    assert completed["subject"] == stuck
    assert [a["actor"] for a in completed["payload"]["completed_by"]] == ["bob", "carol"]
    assert cli("audit", "verify").returncode == 0
