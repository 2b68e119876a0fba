"""The role → action table in force: the built-in roles, and the roles the policy data adds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from baton.settings import Settings, User
from baton.settings_users import known_roles, role_table_in_force
from baton.usecases.permissions import (
    ROLE_ACTIONS,
    Action,
    ActionNotAllowedError,
    role_table,
)
from policies.bundle import PolicyBundle

SHIPPED_DATA = yaml.safe_load(
    (Path(__file__).parents[2] / "policies" / "rego" / "data.yaml").read_text())


def _user(*roles: str) -> User:
    return User(id="u", roles=roles)


def test_the_shipped_data_leaves_the_built_in_table_as_it_is():
    # It gives the approver tools: that must not make approvers authors.
    assert role_table(SHIPPED_DATA).actions == ROLE_ACTIONS
    assert not role_table(SHIPPED_DATA).may(_user("approver"), Action.PLAN_CREATE)


def test_a_built_in_role_keeps_its_row_whatever_the_data_gives_it():
    table = role_table({"approval": {"roles": ["auditor"]}, "role_tools": {"auditor": ["*"]}})
    assert table.actions["auditor"] == ROLE_ACTIONS["auditor"]


def test_approval_rights_grant_the_approvers_actions_and_tools_the_analysts():
    table = role_table({"approval": {"roles": ["finance", "board"]},
                        "role_tools": {"clerk": ["files.read"], "board": ["json.*"]}})
    assert table.allowed_actions(_user("finance")) == ROLE_ACTIONS["approver"]
    assert table.allowed_actions(_user("clerk")) == ROLE_ACTIONS["analyst"]
    assert table.allowed_actions(_user("board")) == (ROLE_ACTIONS["analyst"]
                                                     | ROLE_ACTIONS["approver"])


@pytest.mark.parametrize("data", [
    {},
    {"approval": {"roles": ["finance"]}, "role_tools": {"clerk": []}},
    {"approval": {"roles": "stranger"}, "role_tools": ["stranger"]},  # wrong types name no role
    {"approval": ["stranger"], "role_tools": {"analyst": ["*"]}},
])
def test_a_role_the_data_names_nowhere_grants_nothing(data):
    table = role_table(data)
    assert table.allowed_actions(_user("stranger")) == frozenset()
    with pytest.raises(ActionNotAllowedError, match="user 'u' .stranger. may not plan.read"):
        table.require(_user("stranger"), Action.PLAN_READ)


def test_the_refusal_names_every_role_that_grants_the_action():
    table = role_table({"approval": {"roles": ["finance"]}, "role_tools": {"clerk": []}})
    assert table.refusal(_user("auditor"), Action.PLAN_APPROVE) == (
        "user 'u' (auditor) may not plan.approve; that needs the role approver or admin or "
        "finance")
    assert table.refusal(_user(), Action.PLAN_CREATE) == (
        "user 'u' (no roles) may not plan.create; that needs the role analyst or admin or clerk")


def test_the_known_roles_are_the_roles_of_the_table():
    data = {"approval": {"roles": ["finance"]}, "role_tools": {"clerk": []}}
    assert known_roles(data) == role_table(data).roles == [
        "admin", "analyst", "approver", "auditor", "clerk", "finance"]


def test_the_table_in_force_reads_the_data_file_of_ones_own_policies(tmp_path):
    shipped = Path(__file__).parents[2] / "policies" / "rego"
    for rego in shipped.glob("*.rego"):
        (tmp_path / rego.name).write_text(rego.read_text())
    # The shipped data but for approval: a data file must set every key its rules read.
    (tmp_path / "data.yaml").write_text(json.dumps(
        {**PolicyBundle.load().data, "approval": {"roles": ["finance"], "two_person_risk": 60}}))
    table = role_table_in_force(Settings(policies_dir=tmp_path))
    assert table.may(_user("finance"), Action.PLAN_APPROVE)
    overridden = role_table_in_force(Settings(policies_dir=tmp_path, policy_data={
        "approval": {"roles": ["treasury"], "two_person_risk": 60}}))
    assert not overridden.may(_user("finance"), Action.PLAN_APPROVE)
    assert overridden.may(_user("treasury"), Action.PLAN_APPROVE)
