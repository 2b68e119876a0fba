"""Who may do what through the HTTP API and the web page: one role → action table.

This is the coarse gate at the edge. The use cases keep the fine rules (the
requester can't approve their own plan, an approver needs a role the policy
decision asks for, a denied plan never runs), so the API and the CLI refuse
exactly the same things.

| action          | analyst | approver | auditor | admin |
|-----------------|:-------:|:--------:|:-------:|:-----:|
| plan.read       |    ✓    |    ✓     |    ✓    |   ✓   |
| plan.create     |    ✓    |          |         |   ✓   |
| plan.revise     |    ✓    |    ✓     |         |   ✓   |
| plan.approve    |         |    ✓     |         |   ✓   |
| plan.reject     |         |    ✓     |         |   ✓   |
| run.read        |    ✓    |    ✓     |    ✓    |   ✓   |
| run.start       |    ✓    |    ✓     |         |   ✓   |
| run.cancel      |    ✓    |    ✓     |         |   ✓   |
| tools.read      |    ✓    |    ✓     |    ✓    |   ✓   |
| policy.decide   |    ✓    |    ✓     |    ✓    |   ✓   |
| ledger.read     |    ✓    |    ✓     |    ✓    |   ✓   |

Approvers may ask for a revision (``plan.revise``): that is the "request a
revision" control of the web page. A user with no known role may do nothing.
"""

from __future__ import annotations

import enum

from baton.settings import User


class Action(str, enum.Enum):
    """Everything a caller of the API can ask to do."""

    PLAN_READ = "plan.read"
    PLAN_CREATE = "plan.create"
    PLAN_REVISE = "plan.revise"
    PLAN_APPROVE = "plan.approve"
    PLAN_REJECT = "plan.reject"
    RUN_READ = "run.read"
    RUN_START = "run.start"
    RUN_CANCEL = "run.cancel"
    TOOLS_READ = "tools.read"
    POLICY_DECIDE = "policy.decide"
    LEDGER_READ = "ledger.read"


_READ = frozenset({Action.PLAN_READ, Action.RUN_READ, Action.TOOLS_READ,
                   Action.POLICY_DECIDE, Action.LEDGER_READ})

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "analyst": _READ | {Action.PLAN_CREATE, Action.PLAN_REVISE, Action.RUN_START,
                        Action.RUN_CANCEL},
    "approver": _READ | {Action.PLAN_REVISE, Action.PLAN_APPROVE, Action.PLAN_REJECT,
                         Action.RUN_START, Action.RUN_CANCEL},
    "auditor": _READ,
    "admin": frozenset(Action),
}


def allowed_actions(user: User) -> frozenset[Action]:
    """Every action one of ``user``'s roles grants."""
    granted: set[Action] = set()
    for role in user.roles:
        granted |= ROLE_ACTIONS.get(role, frozenset())
    return frozenset(granted)


def may(user: User, action: Action) -> bool:
    """True when one of ``user``'s roles grants ``action``."""
    return action in allowed_actions(user)
