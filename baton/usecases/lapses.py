"""Why an approved version's approvals lapsed: the pure rule listings mark such a version by.

The approval gate (``policies.approval.evaluate_gate``) says that a version no longer has
the approvals it needs; this names which of its approvals stopped counting, and how.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from planner.versions import StoredVersion
from policies.approval import ApprovalKind, ApprovalRecord, is_current
from policies.contracts import Decision

__all__ = ["LapseCause", "lapse_causes", "lapse_text"]


class LapseCause(str, enum.Enum):
    """Why an approval an approved version had no longer counts."""

    EXPIRED = "expired"
    APPROVER_LOST_ROLE = "approver lost role"


def lapse_causes(stored: StoredVersion, decision: Decision | None,
                 records: Sequence[ApprovalRecord], authors: Collection[str], *,
                 roles: Mapping[str, Collection[str]], ttl: timedelta,
                 now: datetime) -> frozenset[LapseCause]:
    """How the approvals of ``stored`` stopped counting: each approver's latest approval of
    its hash expired (under ``ttl``), or its approver holds none of the roles ``decision``
    asks for (``roles``: each declared user's roles now). Approvals by the requester or an
    author (``authors``) never counted, so they never lapse."""
    excluded = {stored.requester, *authors}
    latest = {r.actor: r for r in records  # oldest first: each approver's latest wins
              if r.kind is ApprovalKind.APPROVE and r.actor not in excluded
              and r.plan_hash == stored.plan_hash}
    asked = set(decision.approvals.roles) if decision is not None else set()
    causes = set()
    for record in latest.values():
        if not is_current(record, plan_hash=stored.plan_hash, now=now, ttl=ttl):
            causes.add(LapseCause.EXPIRED)
        elif not set(roles.get(record.actor, ())) & asked:
            causes.add(LapseCause.APPROVER_LOST_ROLE)
    return frozenset(causes)


def lapse_text(causes: Collection[LapseCause]) -> str:
    """How every listing (web queue, ``baton plans list``, the API) marks such a version:
    ``approval lapsed (expired)``, ``approval lapsed (approver lost role)``, or both."""
    named = ", ".join(cause.value for cause in LapseCause if cause in causes)
    return f"approval lapsed ({named})" if named else "approval lapsed"
