"""A built-in role that cannot approve (analyst, auditor) named in ``approval.roles`` is warned
about when the settings load: the built-in rows are fixed, so the policy asks for approvers
whom the role table lets do nothing, and plans wait at the gate for them."""

from __future__ import annotations

import shutil

import pytest

from baton.settings_users import builtin_role_warnings
from policies.bundle import SHIPPED_DIR as SHIPPED
from tests.support.cli_in_process import in_process_baton

USERS = '[users.alice]\nroles = ["analyst"]\n'
CONFIG = """
[users.alice]
roles = ["analyst"]

[policy.data.approval]
roles = [{roles}]
two_person_risk = 60
"""


@pytest.fixture
def baton_with(data_dir, capsys):
    with in_process_baton(capsys) as run:
        def with_roles(roles: str):
            (data_dir / "baton.toml").write_text(CONFIG.format(roles=roles))
            return run
        yield with_roles


def test_an_auditor_named_as_approver_is_warned_about_once(baton_with):
    done = baton_with('"approver", "auditor"')("--as", "alice", "tools", "list")
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "auditor" in line]
    assert len(warned) == 1, done.stderr
    assert "approval.roles" in warned[0] and "cannot approve" in warned[0]
    assert "built-in" in warned[0]


def test_roles_that_can_approve_are_not_warned_about(baton_with):
    done = baton_with('"approver", "admin", "finance"')("--as", "alice", "tools", "list")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_the_check_names_each_builtin_role_that_cannot_approve():
    data = {"approval": {"roles": ["analyst", "approver", "auditor", "admin", "finance"]}}
    found = builtin_role_warnings(data)
    assert [role for role, _ in found] == ["analyst", "auditor"]
    assert builtin_role_warnings({"approval": {"roles": "auditor"}}) == []
    assert builtin_role_warnings({}) == []


def test_a_policies_dir_data_file_naming_an_analyst_as_approver_is_warned_about(data_dir, capsys):
    policies = data_dir / "policies"
    shutil.copytree(SHIPPED, policies)
    data = policies / "data.yaml"
    data.write_text(data.read_text().replace('roles: ["approver", "admin"]',
                                             'roles: ["approver", "analyst"]'))
    (data_dir / "baton.toml").write_text('policies_dir = "policies"\n' + USERS)
    with in_process_baton(capsys) as run:
        done = run("--as", "alice", "tools", "list")
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "'analyst'" in line]
    assert len(warned) == 1 and "cannot approve" in warned[0], done.stderr
