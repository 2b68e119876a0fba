"""A role the policy data names may act from the CLI: approval rights (``approval.roles``)
grant the approver's actions, tools (``role_tools``) the analyst's; any other grants nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli_in_process import in_process_baton

GOAL = "Total the amount column of sales.csv and write it to total.json"
SHIPPED = Path(__file__).parents[2] / "policies" / "rego"
USERS = """
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.fiona]
roles = ["finance"]

[users.fred]
roles = ["finance"]

[users.bob]
roles = ["approver"]

[users.dave]
roles = ["auditor"]

[users.erin]
roles = []

[users.cleo]
roles = ["clerk"]

[users.gina]
roles = ["controller"]
"""
# role_tools replaces the shipped table whole: the built-in roles keep theirs here.
POLICY_DATA = """
[policy.data.role_tools]
analyst = ["files.*", "table.*", "json.*"]
approver = ["files.*", "table.*", "json.*"]
admin = ["*"]
clerk = ["files.read", "table.*", "json.*"]
controller = ["files.*", "table.*", "json.*"]

[policy.data.approval]
roles = ["finance", "controller"]
two_person_risk = {risk}
"""


@pytest.fixture
def baton_at(data_dir, capsys):
    """``baton_at(risk)``: ``baton`` in-process over the users and policy data above, with
    ``two_person_risk = risk``."""
    (data_dir / "ws").mkdir()
    (data_dir / "ws" / "sales.csv").write_text("region,amount\nnorth,10\nsouth,32\n")
    with in_process_baton(capsys) as run:
        def at(risk: int = 60):
            (data_dir / "baton.toml").write_text(USERS + POLICY_DATA.format(risk=risk))
            return run
        yield at


def _plan(cli, user: str = "alice") -> dict:
    planned = cli("--as", user, "plan", GOAL, "--json")
    assert planned.returncode == 0, planned.stderr
    return json.loads(planned.stdout)


def _status(cli, plan_id: str) -> str:
    shown = cli("plans", "show", plan_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)["status"]


def test_a_role_given_approval_rights_by_the_policy_data_approves(baton_at):
    cli = baton_at()
    plan = _plan(cli)
    assert plan["status"] == "pending_approval"
    assert cli("--as", "fiona", "plans", "show", plan["plan_id"]).returncode == 0
    approved = cli("--as", "fiona", "approve", plan["plan_id"])
    assert approved.returncode == 0, approved.stderr
    assert _status(cli, plan["plan_id"]) == "approved"


def test_an_approver_the_policy_data_does_not_name_is_still_refused_by_the_gate(baton_at):
    cli = baton_at()
    plan = _plan(cli)
    refused = cli("--as", "bob", "approve", plan["plan_id"])
    assert refused.returncode == 1
    assert "it needs role finance or controller, bob has approver" in refused.stderr
    assert _status(cli, plan["plan_id"]) == "pending_approval"


def test_a_role_given_only_approval_rights_may_not_plan(baton_at):
    cli = baton_at()
    refused = cli("--as", "fiona", "plan", GOAL)
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("error: user 'fiona' (finance) may not plan.create; "
                                      "that needs the role analyst or admin or clerk or "
                                      "controller")


def test_a_role_given_tools_by_the_policy_data_plans_with_those_tools_only(baton_at):
    cli = baton_at()
    reading = cli("--as", "cleo", "plan", "Show the sum of the amount column of sales.csv",
                  "--json")
    assert reading.returncode == 0, reading.stderr
    assert json.loads(reading.stdout)["status"] == "approved"  # read-only, low risk
    writing = cli("--as", "cleo", "plan", GOAL)  # files.write is not one of the clerk's tools
    assert writing.returncode == 1
    assert "cleo (roles: clerk) may not use tool files.write" in writing.stdout
    refused = cli("--as", "cleo", "approve", _plan(cli)["plan_id"])
    assert refused.returncode == 2
    assert "user 'cleo' (clerk) may not plan.approve" in refused.stderr


def test_a_refusal_names_the_roles_the_policy_data_gives_the_action(baton_at):
    cli = baton_at()
    plan = _plan(cli)
    refused = cli("--as", "dave", "approve", plan["plan_id"])
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("error: user 'dave' (auditor) may not plan.approve; "
                                      "that needs the role approver or admin or controller or "
                                      "finance")
    nobody = cli("--as", "erin", "plans", "show", plan["plan_id"])
    assert nobody.returncode == 2
    assert nobody.stderr.strip() == ("error: user 'erin' (no roles) may not plan.read; that "
                                     "needs the role analyst or approver or auditor or admin or "
                                     "clerk or controller or finance")


def test_a_role_with_tools_and_approval_rights_still_cannot_approve_its_own_plan(baton_at):
    cli = baton_at()
    plan = _plan(cli, "gina")
    refused = cli("--as", "gina", "approve", plan["plan_id"])
    assert refused.returncode == 1 and "gina asked for plan" in refused.stderr
    assert _status(cli, plan["plan_id"]) == "pending_approval"
    assert cli("--as", "fiona", "approve", plan["plan_id"]).returncode == 0
    assert _status(cli, plan["plan_id"]) == "approved"


def test_a_risky_plan_still_needs_two_different_people_of_the_policy_role(baton_at):
    cli = baton_at(risk=20)  # the plan's risk, 28, now needs two approvers
    plan = _plan(cli)
    assert cli("--as", "fiona", "approve", plan["plan_id"]).returncode == 0
    assert _status(cli, plan["plan_id"]) == "pending_approval"
    again = cli("--as", "fiona", "approve", plan["plan_id"])
    assert again.returncode == 1
    assert _status(cli, plan["plan_id"]) == "pending_approval"
    assert cli("--as", "fred", "approve", plan["plan_id"]).returncode == 0
    assert _status(cli, plan["plan_id"]) == "approved"


def test_a_role_the_data_file_of_ones_own_policies_gives_approval_rights_approves(data_dir,
                                                                                  capsys):
    own = data_dir / "policies"
    own.mkdir()
    for rego in SHIPPED.glob("*.rego"):
        (own / rego.name).write_text(rego.read_text())
    data = (SHIPPED / "data.yaml").read_text()
    assert 'roles: ["approver", "admin"]' in data
    (own / "data.yaml").write_text(data.replace('roles: ["approver", "admin"]',
                                                'roles: ["finance"]'))
    (data_dir / "ws").mkdir()
    (data_dir / "ws" / "sales.csv").write_text("region,amount\nnorth,10\nsouth,32\n")
    (data_dir / "baton.toml").write_text('workspace = "ws"\npolicies_dir = "policies"\n'
                                         '[users.alice]\nroles = ["analyst"]\n'
                                         '[users.fiona]\nroles = ["finance"]\n')
    with in_process_baton(capsys) as cli:
        plan = _plan(cli)
        approved = cli("--as", "fiona", "approve", plan["plan_id"])
        assert approved.returncode == 0, approved.stderr
        assert _status(cli, plan["plan_id"]) == "approved"
