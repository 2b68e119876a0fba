"""Who may do what: one role → action table for the API, the web page and the CLI.

This is the coarse gate at the edge. The use cases keep the fine rules (the
requester can't approve their own plan, an approver needs a role the policy
decision asks for, a denied plan never runs), so with this one table the API,
the web page and the CLI refuse exactly the same things.

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
| template.read   |    ✓    |    ✓     |    ✓    |   ✓   |
| template.add    |    ✓    |          |         |   ✓   |

Approvers may ask for a revision (``plan.revise``): that is the "request a
revision" control of the web page. A template writes plans for every later
goal it matches, so adding one is authoring, like ``plan.create``; marking it
pre-approved also needs an approving role (``baton.usecases.templates``).
Resuming a run is ``run.start``. A user with no known role may do nothing.
"""

from __future__ import annotations

import enum

from tools import BatonError

from ..settings import User


class Action(str, enum.Enum):
    """Everything a caller (API, web page, CLI) can ask to do."""

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
    TEMPLATE_READ = "template.read"
    TEMPLATE_ADD = "template.add"


_READ = frozenset({Action.PLAN_READ, Action.RUN_READ, Action.TOOLS_READ,
                   Action.POLICY_DECIDE, Action.LEDGER_READ, Action.TEMPLATE_READ})

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "analyst": _READ | {Action.PLAN_CREATE, Action.PLAN_REVISE, Action.RUN_START,
                        Action.RUN_CANCEL, Action.TEMPLATE_ADD},
    "approver": _READ | {Action.PLAN_REVISE, Action.PLAN_APPROVE, Action.PLAN_REJECT,
                         Action.RUN_START, Action.RUN_CANCEL},
    "auditor": _READ,
    "admin": frozenset(Action),
}


class ActionNotAllowedError(BatonError):
    """The acting user's roles do not grant the action (the API answers 403, the CLI exits 2)."""

    code = "forbidden"


def allowed_actions(user: User) -> frozenset[Action]:
    """Every action one of ``user``'s roles grants."""
    granted: set[Action] = set()
    for role in user.roles:
        granted |= ROLE_ACTIONS.get(role, frozenset())
    return frozenset(granted)


def may(user: User, action: Action) -> bool:
    """True when one of ``user``'s roles grants ``action``."""
    return action in allowed_actions(user)


def refusal(user: User, action: Action) -> str:
    """The one-line reason ``user`` may not do ``action``: user, roles, action, who could."""
    roles = ", ".join(user.roles) or "no roles"
    granting = [role for role, actions in ROLE_ACTIONS.items() if action in actions]
    return (f"user {user.id!r} ({roles}) may not {action.value}; "
            f"that needs the role {' or '.join(granting)}")


def require_action(user: User, action: Action) -> None:
    """Raise :class:`ActionNotAllowedError` unless one of ``user``'s roles grants ``action``."""
    if not may(user, action):
        raise ActionNotAllowedError(refusal(user, action))


__all__ = ["ROLE_ACTIONS", "Action", "ActionNotAllowedError", "allowed_actions", "may",
           "refusal", "require_action"]
