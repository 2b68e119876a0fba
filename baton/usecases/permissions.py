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
Resuming a run is ``run.start``.

The policy data in force may name roles of its own (:func:`role_table`): one it gives
approval rights (``approval.roles``) grants the approver's actions, one it gives tools
(``role_tools``) the analyst's (the policies still decide which tools it may use), one it
gives both, both. Otherwise the policy decision could ask for approvers whom this table lets
do nothing. The built-in roles keep their row whatever the data says of them (the shipped
data gives the approver tools to check revisions by). A user with no known role may do
nothing. A running server keeps the table of the policy data it started with, as its policy
engine keeps that data: a role the data gains meanwhile grants nothing until a restart, and
a refusal of one of its holders says so (``baton.settings_reload``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

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

# The built-in roles. Read it through a RoleTable: the policy data may add roles.
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


@dataclass(frozen=True)
class RoleTable:
    """The role → action table in force: the built-in roles, then those the policy data adds."""

    actions: Mapping[str, frozenset[Action]]
    """Each role's actions; a role absent here grants nothing."""

    @property
    def roles(self) -> list[str]:
        """Every role of the table, sorted: the roles a user may hold."""
        return sorted(self.actions)

    def allowed_actions(self, user: User) -> frozenset[Action]:
        """Every action one of ``user``'s roles grants."""
        granted: set[Action] = set()
        for role in user.roles:
            granted |= self.actions.get(role, frozenset())
        return frozenset(granted)

    def may(self, user: User, action: Action) -> bool:
        """True when one of ``user``'s roles grants ``action``."""
        return action in self.allowed_actions(user)

    def refusal(self, user: User, action: Action) -> str:
        """The one-line reason ``user`` may not do ``action``: user, roles, action, who could,
        and which of the user's roles the table does not know."""
        roles = ", ".join(user.roles) or "no roles"
        granting = [role for role, actions in self.actions.items() if action in actions]
        said = (f"user {user.id!r} ({roles}) may not {action.value}; "
                f"that needs the role {' or '.join(granting)}")
        unknown = [role for role in dict.fromkeys(user.roles) if role not in self.actions]
        if not unknown:
            return said
        # A running server reads its users again, not its policy data: a role the data gained
        # since it started is held by users it knows, yet absent here.
        they = (f"{unknown[0]} is not a role of the table in force, so it grants"
                if len(unknown) == 1 else
                f"{' and '.join(unknown)} are not roles of the table in force, so they grant")
        return (f"{said}; {they} nothing (a role added to the policy data while the server "
                "runs counts after a restart)")

    def changed_roles(self, other: RoleTable) -> list[str]:
        """The roles ``other`` gives other actions than this table does (added, taken away
        or changed), sorted."""
        return sorted(role for role in {*self.actions, *other.actions}
                      if self.actions.get(role) != other.actions.get(role))

    def require(self, user: User, action: Action) -> None:
        """Raise :class:`ActionNotAllowedError` unless one of ``user``'s roles grants ``action``."""
        if not self.may(user, action):
            raise ActionNotAllowedError(self.refusal(user, action))


def role_table(policy_data: Mapping[str, Any]) -> RoleTable:
    """The built-in table, plus each other role ``policy_data`` gives tools (``role_tools``:
    the analyst's actions) or approval rights (``approval.roles``: the approver's), by name.

    A value of the wrong type names no role here (the settings check reports it).
    """
    role_tools = policy_data.get("role_tools")
    with_tools = _names(role_tools if isinstance(role_tools, Mapping) else ())
    approval = policy_data.get("approval")
    approvers = approval.get("roles") if isinstance(approval, Mapping) else None
    approving = _names(approvers if isinstance(approvers, list) else ())
    added = {role: ((ROLE_ACTIONS["analyst"] if role in with_tools else frozenset())
                    | (ROLE_ACTIONS["approver"] if role in approving else frozenset()))
             for role in sorted((with_tools | approving) - set(ROLE_ACTIONS))}
    return RoleTable(MappingProxyType({**ROLE_ACTIONS, **added}))


def _names(values: Iterable[Any]) -> set[str]:
    """The strings among ``values``."""
    return {value for value in values if isinstance(value, str)}


__all__ = ["ROLE_ACTIONS", "Action", "ActionNotAllowedError", "RoleTable", "role_table"]
