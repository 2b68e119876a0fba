"""What a running process tells of roles its policy data gives otherwise than at start: the
roles a reload finds changed, and the refusal of a user holding a role the table lacks."""

from __future__ import annotations

from baton.settings import User
from baton.usecases.permissions import Action, role_table

FINANCE = {"approval": {"roles": ["finance"]}, "role_tools": {"clerk": []}}


def test_the_roles_another_table_gives_other_actions_are_named():
    start = role_table(FINANCE)
    assert start.changed_roles(start) == []
    now = role_table({"approval": {"roles": ["finance", "clerk"]}, "role_tools": {"board": []}})
    # clerk gained the approver's actions, board is new, finance kept its row
    assert start.changed_roles(now) == ["board", "clerk"]
    assert now.changed_roles(start) == ["board", "clerk"]


def test_a_refusal_names_each_role_the_table_lacks_and_when_it_would_count():
    table = role_table(FINANCE)
    user = User(id="u", roles=("board", "clerk", "treasury"))
    assert table.refusal(user, Action.PLAN_APPROVE) == (
        "user 'u' (board, clerk, treasury) may not plan.approve; that needs the role approver "
        "or admin or finance; board and treasury are not roles of the table in force, so they "
        "grant nothing (a role added to the policy data while the server runs counts after a "
        "restart)")
    assert "table in force" not in table.refusal(User(id="u", roles=("clerk",)),
                                                 Action.PLAN_APPROVE)
