"""Why an approved version's approvals lapsed: the pure rule listings mark such a version by,
and a refused run names.

The approval gate (``policies.approval.evaluate_gate``) says that a version no longer has
the approvals it needs; this names which of its approvals stopped counting, and how.
Approvals always expire (``approval_ttl_s``): what waits for approval leaves out a lapsed
version that ran to success (``PlanStore.list_waiting``), and listings still mark it.

The ``now`` they are judged at is the database's time, as their stamps are (callers read it:
``executor.store.clock``); an expiry named here is by that clock.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from planner.versions import StoredVersion
from policies.approval import ApprovalKind, ApprovalRecord, expires_at, is_current
from policies.contracts import Decision

__all__ = ["APPROVAL_LAPSED_FIELD", "Lapse", "LapseCause", "lapse_causes", "lapse_detail",
           "lapse_text", "lapses"]

APPROVAL_LAPSED_FIELD = (
    "Set when the version is approved but its approvals no longer count (expired, or the "
    "approver lost the role), so it cannot run until approved again (it waits for approval "
    "unless it ran to success): 'approval lapsed (expired)', 'approval lapsed (approver lost "
    "role)' or both; null otherwise.")
"""What every listing's ``approval_lapsed`` field means, said once for them all."""


class LapseCause(str, enum.Enum):
    """Why an approval an approved version had no longer counts."""

    EXPIRED = "expired"
    APPROVER_LOST_ROLE = "approver lost role"


class Lapse(BaseModel):
    """One approver's approval of a version that stopped counting, and how."""

    model_config = ConfigDict(frozen=True)

    actor: str = Field(description="Who gave the approval.")
    cause: LapseCause = Field(description="Why it no longer counts.")
    expired_at: datetime | None = Field(
        default=None, description="When it expired (under the TTL in force); None when it "
        "has not: its approver lost the role.")


def lapses(stored: StoredVersion, decision: Decision | None,
           records: Sequence[ApprovalRecord], authors: Collection[str], *,
           roles: Mapping[str, Collection[str]], ttl: timedelta,
           now: datetime) -> tuple[Lapse, ...]:
    """How the approvals of ``stored`` stopped counting, by approver: each approver's latest
    approval of its hash expired (under ``ttl``), or its approver holds none of the roles
    ``decision`` asks for (``roles``: each declared user's roles now). Approvals by the
    requester or an author (``authors``) never counted, so they never lapse."""
    excluded = {stored.requester, *authors}
    latest = {r.actor: r for r in records  # oldest first: each approver's latest wins
              if r.kind is ApprovalKind.APPROVE and r.actor not in excluded
              and r.plan_hash == stored.plan_hash}
    asked = set(decision.approvals.roles) if decision is not None else set()
    found = []
    for actor, record in sorted(latest.items()):
        if not is_current(record, plan_hash=stored.plan_hash, now=now, ttl=ttl):
            found.append(Lapse(actor=actor, cause=LapseCause.EXPIRED,
                               expired_at=expires_at(record, ttl)))
        elif not set(roles.get(actor, ())) & asked:
            found.append(Lapse(actor=actor, cause=LapseCause.APPROVER_LOST_ROLE))
    return tuple(found)


def lapse_causes(stored: StoredVersion, decision: Decision | None,
                 records: Sequence[ApprovalRecord], authors: Collection[str], *,
                 roles: Mapping[str, Collection[str]], ttl: timedelta,
                 now: datetime) -> frozenset[LapseCause]:
    """Which ways the approvals of ``stored`` stopped counting (:func:`lapses`)."""
    return frozenset(lapse.cause for lapse in lapses(
        stored, decision, records, authors, roles=roles, ttl=ttl, now=now))


def lapse_text(causes: Collection[LapseCause]) -> str:
    """How every listing (web queue, ``baton plans list``, the API) marks such a version:
    ``approval lapsed (expired)``, ``approval lapsed (approver lost role)``, or both."""
    named = ", ".join(cause.value for cause in LapseCause if cause in causes)
    return f"approval lapsed ({named})" if named else "approval lapsed"


def lapse_detail(found: Sequence[Lapse]) -> str:
    """Each lapse for whoever was refused a run: ``bob's approval expired on 2026-12-13
    06:35 UTC``, ``carol lost the role``; joined by ``; ``."""
    return "; ".join(_detail(lapse) for lapse in found)


def _detail(lapse: Lapse) -> str:
    if lapse.expired_at is None:
        return f"{lapse.actor} lost the role"
    return f"{lapse.actor}'s approval expired on {lapse.expired_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
