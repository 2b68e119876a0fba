"""The approval gate: pure rules over a decision and the approvals recorded for one version.

Approvals bind to (plan id, version, plan hash). Storage lives in
``executor.store.approvals``; the use cases in ``baton.usecases`` (``deciding``,
``approving``, ``gates``) apply these rules.

Every time here (``decided_at``, ``expires_at``, the ``now`` an approval is judged at) is
by the database's clock (``executor.store.clock``): machines sharing one database may disagree
by hours, and an approval stamped by one and judged by another would last as long as their
difference allows.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from tools import BatonError

from .contracts import Decision


class GateStatus(str, enum.Enum):
    """Where a version stands at the gate."""

    APPROVED = "approved"
    PENDING = "pending"
    DENIED = "denied"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # a newer version replaced it: it can never run


class ApprovalKind(str, enum.Enum):
    """An approver's answer."""

    APPROVE = "approve"
    REJECT = "reject"


class RefusalCode(str, enum.Enum):
    """Why an approval or rejection was refused."""

    SELF_APPROVAL = "self_approval"
    WRONG_ROLE = "wrong_role"
    DOUBLE_APPROVAL = "double_approval"
    STALE_VERSION = "stale_version"
    PLAN_CHANGED = "plan_changed"
    DENIED_PLAN = "denied_plan"
    ENDED_VERSION = "ended_version"
    NOT_NEEDED = "not_needed"
    NO_DECISION = "no_decision"
    HELD_SECRET = "held_secret"
    VERSION_CHANGED = "version_changed"


class ApprovalRefused(BatonError):
    """An approval or rejection the gate does not accept; ``code`` says which rule."""

    code = "approval_refused"

    def __init__(self, refusal: RefusalCode, message: str) -> None:
        super().__init__(message, code=refusal.value)
        self.refusal = refusal


class ApprovalRecord(BaseModel):
    """One approval or rejection, bound to (plan id, version, plan hash)."""

    model_config = ConfigDict(frozen=True)

    plan_id: str = Field(description="Plan id.")
    version: int = Field(ge=1, description="Version approved or rejected.")
    plan_hash: str = Field(description="Plan hash the approver saw.")
    actor: str = Field(description="Who approved or rejected.")
    kind: ApprovalKind = Field(description="approve or reject.")
    comment: str | None = Field(default=None, description="Comment, or the rejection's reason.")
    decided_at: datetime = Field(description="When (UTC, by the database's clock).")
    expires_at: datetime | None = Field(
        default=None, description="When an approval lapses (UTC, by the database's clock).")


class ApprovalTarget(BaseModel):
    """The version someone wants to approve, as the store sees it now."""

    model_config = ConfigDict(frozen=True)

    plan_id: str = Field(description="Plan id.")
    version: int = Field(ge=1, description="Version to approve.")
    latest_version: int = Field(ge=1, description="Newest version of the plan.")
    plan_hash: str = Field(description="Hash of the stored plan document, computed now.")
    decided_hash: str = Field(description="Plan hash the decision was taken on.")
    requester: str = Field(description="Who asked for the plan.")
    authors: tuple[str, ...] = Field(
        default=(), description="Everyone who wrote a version of the plan (revisions included).")
    invalid: bool = Field(
        default=False, description="The version failed validation: it is never decided.")


class GateState(BaseModel):
    """The gate's verdict on one version."""

    model_config = ConfigDict(frozen=True)

    status: GateStatus = Field(description="approved, pending, denied, rejected or superseded.")
    missing_count: int = Field(ge=0, description="Approvals still needed.")
    eligible_roles: tuple[str, ...] = Field(description="Roles that may approve.")
    valid_approvals: tuple[ApprovalRecord, ...] = Field(description="Approvals that count now.")
    reasons: tuple[str, ...] = Field(default=(), description="Why it is not approved (if not).")
    rejection: ApprovalRecord | None = Field(
        default=None, description="The rejection that ended the version (its version and hash "
                                  "name what was rejected); None unless rejected.")


def expires_at(record: ApprovalRecord, ttl: timedelta) -> datetime:
    """When an approval lapses under the TTL in force now: the earlier of the expiry stored
    with it and ``decided_at + ttl``, so lowering ``approval_ttl_s`` shortens approvals
    already given, and raising it never lengthens them."""
    by_ttl = record.decided_at + ttl
    return min(record.expires_at, by_ttl) if record.expires_at is not None else by_ttl


def is_current(record: ApprovalRecord, *, plan_hash: str, now: datetime, ttl: timedelta) -> bool:
    """An approval counts while it matches the plan hash and has not expired at ``now`` (the
    database's time, as ``decided_at`` is)."""
    return record.plan_hash == plan_hash and now < expires_at(record, ttl)


def valid_approvals(records: Iterable[ApprovalRecord], *, requester: str, plan_hash: str,
                    now: datetime, ttl: timedelta, authors: Collection[str] = ()
                    ) -> tuple[ApprovalRecord, ...]:
    """Current approvals by people other than the requester and the plan's authors, one per
    person (the latest)."""
    excluded = {requester, *authors}
    latest: dict[str, ApprovalRecord] = {}
    for record in sorted(records, key=lambda r: r.decided_at):
        if record.kind is ApprovalKind.APPROVE and record.actor not in excluded and is_current(
                record, plan_hash=plan_hash, now=now, ttl=ttl):
            latest[record.actor] = record
    return tuple(latest.values())


def _without_role(valid: Sequence[ApprovalRecord], roles: Sequence[str],
                  current_roles: Mapping[str, Sequence[str]]) -> tuple[ApprovalRecord, ...]:
    """Approvals whose approver no longer holds (or never held) a role the decision asks for."""
    return tuple(r for r in valid if not set(current_roles.get(r.actor, ())) & set(roles))


def _demoted_reason(record: ApprovalRecord, roles: Sequence[str],
                    current_roles: Mapping[str, Sequence[str]]) -> str:
    needed = " or ".join(roles)
    if record.actor not in current_roles:
        return (f"approval by {record.actor} no longer counts: {record.actor} is no longer a "
                f"declared user (needs role {needed})")
    return f"approval by {record.actor} no longer counts: {record.actor} no longer has role {needed}"


def evaluate_gate(decision: Decision, requester: str, approvals: Sequence[ApprovalRecord],
                  now: datetime, version_hash: str, ttl: timedelta,
                  current_roles: Mapping[str, Sequence[str]], *,
                  authors: Collection[str] = ()) -> GateState:
    """The gate's status for one version from its decision and the approvals recorded for it.

    ``current_roles`` maps each declared user to the roles settings give them *now*: an approval
    counts only while its approver still holds a role the decision asks for (fail closed).
    Approvals by the requester or by anyone who wrote a version of the plan never count.
    """
    roles = decision.approvals.roles
    rejection = next((r for r in approvals if r.kind is ApprovalKind.REJECT), None)
    if rejection is not None:
        reason = f"rejected by {rejection.actor}: {rejection.comment or 'no reason given'}"
        return GateState(status=GateStatus.REJECTED, missing_count=0, eligible_roles=roles,
                         valid_approvals=(), reasons=(reason,), rejection=rejection)
    if not decision.allow:
        return GateState(status=GateStatus.DENIED, missing_count=0, eligible_roles=roles,
                         valid_approvals=(), reasons=decision.deny)
    current = valid_approvals(approvals, requester=requester, plan_hash=version_hash, now=now,
                              ttl=ttl, authors=authors)
    demoted = _without_role(current, roles, current_roles)
    valid = tuple(r for r in current if r not in demoted)
    missing = max(0, decision.approvals.count - len(valid))
    if missing == 0:
        return GateState(status=GateStatus.APPROVED, missing_count=0, eligible_roles=roles,
                         valid_approvals=valid)
    reasons = [f"needs {missing} more approval(s) from a user with role {' or '.join(roles)}"]
    reasons += [_demoted_reason(r, roles, current_roles) for r in demoted]
    lapsed = [r.actor for r in approvals if r.kind is ApprovalKind.APPROVE and r not in current
              and r.actor != requester and r.actor not in authors]
    if lapsed:
        reasons.append(f"approvals no longer valid (expired or for another plan hash): "
                       f"{', '.join(sorted(set(lapsed)))}")
    authored = {r.actor for r in approvals if r.kind is ApprovalKind.APPROVE and r.actor in authors
                and r.actor != requester}
    reasons += [f"approval by {actor} does not count: {actor} wrote a version of the plan"
                for actor in sorted(authored)]
    return GateState(status=GateStatus.PENDING, missing_count=missing, eligible_roles=roles,
                     valid_approvals=valid, reasons=tuple(reasons))


def _check_version(target: ApprovalTarget, decision: Decision | None,
                   approvals: Sequence[ApprovalRecord], done: str) -> Decision:
    """Rules shared by approving and rejecting (``done``: "approved", "rejected"): a decided,
    current, unedited, open version."""
    if decision is None and target.invalid:  # "no decision yet" would promise one
        raise ApprovalRefused(RefusalCode.NO_DECISION,
                              f"plan {target.plan_id} v{target.version} is invalid: it failed "
                              f"validation, so it has no policy decision and cannot be {done}; "
                              "revise the plan to make a valid version")
    if decision is None:
        raise ApprovalRefused(RefusalCode.NO_DECISION,
                              f"plan {target.plan_id} v{target.version} has no policy decision yet")
    if target.version != target.latest_version:
        raise ApprovalRefused(RefusalCode.STALE_VERSION,
                              f"plan {target.plan_id} v{target.version} is stale: "
                              f"v{target.latest_version} is the current version")
    if target.plan_hash != target.decided_hash:
        raise ApprovalRefused(RefusalCode.PLAN_CHANGED,
                              f"plan {target.plan_id} v{target.version} changed after the decision "
                              "(its hash differs); it must be decided again")
    if any(r.kind is ApprovalKind.REJECT for r in approvals):
        raise ApprovalRefused(RefusalCode.ENDED_VERSION,
                              f"plan {target.plan_id} v{target.version} was rejected; that version is ended")
    return decision


def _check_role(actor_id: str, actor_roles: Sequence[str], decision: Decision, verb: str) -> None:
    if not set(actor_roles) & set(decision.approvals.roles):
        if not decision.approvals.roles:  # settings refuse approval.roles = []; a rule may not
            raise ApprovalRefused(RefusalCode.WRONG_ROLE,
                                  f"{actor_id} cannot {verb} this plan: the policy decision "
                                  "names no role that may give it, so nobody can")
        raise ApprovalRefused(RefusalCode.WRONG_ROLE,
                              f"{actor_id} cannot {verb} this plan: it needs role "
                              f"{' or '.join(decision.approvals.roles)}, "
                              f"{actor_id} has {', '.join(actor_roles) or 'no roles'}")


def check_can_approve(actor_id: str, actor_roles: Sequence[str], target: ApprovalTarget,
                      decision: Decision | None, approvals: Sequence[ApprovalRecord],
                      now: datetime, ttl: timedelta, *,
                      current_roles: Mapping[str, Sequence[str]] | None = None) -> None:
    """Raise ``ApprovalRefused`` naming the rule unless ``actor`` may approve ``target`` now.

    ``current_roles`` (each declared user's roles now, as :func:`evaluate_gate` takes them)
    lets a refusal of a second approval by the same person count, as the gate does, only
    the approvals whose approvers still hold a role the decision asks for."""
    decision = _check_version(target, decision, approvals, "approved")
    if not decision.allow:
        raise ApprovalRefused(RefusalCode.DENIED_PLAN,
                              f"plan {target.plan_id} v{target.version} was denied by policy; "
                              "it cannot be approved")
    if actor_id == target.requester:
        raise ApprovalRefused(RefusalCode.SELF_APPROVAL,
                              f"{actor_id} asked for plan {target.plan_id} and cannot approve it")
    if actor_id in target.authors:
        # A revision is plan content: whoever wrote one (an approver's "request revision"
        # included) is an author, and four eyes means someone else signs it off.
        raise ApprovalRefused(RefusalCode.SELF_APPROVAL,
                              f"{actor_id} wrote a version of plan {target.plan_id} and cannot "
                              "approve it; another approver must")
    if decision.approvals.count == 0:
        raise ApprovalRefused(RefusalCode.NOT_NEEDED,
                              f"plan {target.plan_id} v{target.version} needs no approval")
    _check_role(actor_id, actor_roles, decision, "approve")
    current = valid_approvals(approvals, requester=target.requester, plan_hash=target.plan_hash,
                              now=now, ttl=ttl, authors=target.authors)
    if any(r.actor == actor_id for r in current):
        needed = decision.approvals.count
        if current_roles is not None:  # an approver who lost the role counts for nothing
            current = tuple(r for r in current if r not in _without_role(
                current, decision.approvals.roles, current_roles))
        rest = (f"it has all {needed} approval(s) it needs" if len(current) >= needed
                else "another person must approve")
        raise ApprovalRefused(RefusalCode.DOUBLE_APPROVAL,
                              f"{actor_id} has already approved plan {target.plan_id} "
                              f"v{target.version}; {rest}")


def check_can_reject(actor_id: str, actor_roles: Sequence[str], target: ApprovalTarget,
                     decision: Decision | None, approvals: Sequence[ApprovalRecord]) -> None:
    """Raise ``ApprovalRefused`` unless ``actor`` may reject ``target``: an approver role, or its requester."""
    decision = _check_version(target, decision, approvals, "rejected")
    if actor_id != target.requester:
        _check_role(actor_id, actor_roles, decision, "reject")


class NotApprovedError(BatonError):
    """A run was asked for a version that is not approved now (status, hash or approvals)."""

    code = "not_approved"
