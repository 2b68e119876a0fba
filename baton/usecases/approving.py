"""Approving and rejecting a version: the gate's rules checked and the verdict recorded, as
one transaction under the plan's lock.

An approval's comment and a rejection's reason are stored with configured secret values
masked, as the ledger records them (people read them back through
``approval_records.shown_record``). Before an approval, the version's decision is taken
again when the policies may have changed under it (``deciding.decide_again``). An approver
whose approval already counts, asking again for a version still pending approval whose gate
is complete with the approvals that count now (one counts again: its approver has the role
back), has it approved (``gates.completed_gate``) and is told so, not refused.

Approval time is the database's (``executor.store.clock``): an approval or rejection is
stamped by the database server's clock, read under the plan's lock, never by the clock of
the machine that records it (API servers and workers on several machines may disagree by
hours). The ``now`` each use case takes is that instant given outright (tests pin time with
it); None reads the database's clock.
"""

from __future__ import annotations

import re
from datetime import datetime

from executor.ledger import EventKind
from executor.store.approvals import StoredDecision
from executor.store.plans import PlanGate
from planner.versions import StoredVersion, VersionStatus
from policies.approval import (
    ApprovalKind,
    ApprovalRecord,
    ApprovalRefused,
    ApprovalTarget,
    GateState,
    GateStatus,
    RefusalCode,
    check_can_approve,
    check_can_reject,
    evaluate_gate,
)
from tools import BatonError
from tools.redaction import redact

from ..services import Services
from ..settings import User
from .approval_records import approval_ttl, current_roles, other_authors, shown_record
from .deciding import Redecision, decide_again, denied_again_text
from .gates import completed_gate
from .plans import held_secrets

__all__ = ["GATE_COMPLETE_NOW", "MIN_HASH_PREFIX", "NO_APPROVAL_NOW", "approve", "pinned_hash",
           "reject"]


def _target(plan: PlanGate, stored: StoredVersion, decided: StoredDecision | None,
            authors: tuple[str, ...]) -> ApprovalTarget:
    return ApprovalTarget(plan_id=stored.plan_id, version=stored.version,
                          latest_version=plan.latest_version, plan_hash=stored.plan.plan_hash(),
                          decided_hash=decided.plan_hash if decided else "",
                          requester=stored.requester, authors=authors,
                          invalid=stored.status is VersionStatus.INVALID)


def _locked_state(services: Services, plan: PlanGate, version: int | None
                  ) -> tuple[StoredVersion, StoredDecision | None, list[ApprovalRecord],
                             tuple[str, ...]]:
    """A version, its decision, its records (as shown) and the plan's other authors, read
    under the plan's lock: what the gate's checks and the write they allow both rest on."""
    stored = plan.version(version)
    records = [shown_record(services, r) for r in plan.records(stored.version)]
    return (stored, plan.latest_decision(stored.version), records,
            other_authors(plan.authors(), stored.requester))


# The shortest plan hash prefix an approver may pin (the CLI and web page show 16).
MIN_HASH_PREFIX = 12
_HASH_PREFIX = re.compile(rf"(?:sha256:)?([0-9a-f]{{{MIN_HASH_PREFIX},64}})")


def pinned_hash(text: str) -> str:
    """The lower-case hex prefix an approver gave (``sha256:`` optional), or BatonError."""
    found = _HASH_PREFIX.fullmatch(text.strip().lower())
    if found is None:
        raise BatonError(f"plan hash {text.strip()[:80]!r} is not {MIN_HASH_PREFIX} to 64 hex "
                         "characters (`baton plans show` prints it as sha256:…)",
                         code="invalid_plan_hash")
    return found.group(1)


_DONE = {ApprovalKind.APPROVE: "approved", ApprovalKind.REJECT: "rejected"}


def _check_seen(plan: PlanGate, stored: StoredVersion, plan_hash: str | None,
                kind: ApprovalKind = ApprovalKind.APPROVE) -> None:
    """Refuse (``version_changed``) unless ``stored`` is the version whose hash the approver
    reviewed: a revision since they read it would otherwise get an approval (or a rejection)
    it never had."""
    if plan_hash is None or stored.plan_hash.startswith(plan_hash):
        return
    seen = next((n for n in range(plan.latest_version, 0, -1)
                 if plan.version(n).plan_hash.startswith(plan_hash)), None)
    reviewed = (f"v{seen} (sha256:{plan_hash[:16]}…)" if seen is not None
                else f"sha256:{plan_hash[:16]}… (no version of the plan has that hash)")
    raise ApprovalRefused(RefusalCode.VERSION_CHANGED,
                          f"plan {stored.plan_id}: you reviewed {reviewed}, but the version to "
                          f"{kind.value} is v{stored.version} (sha256:{stored.plan_hash[:16]}…); "
                          f"nothing was {_DONE[kind]}: review v{stored.version}, then "
                          f"{kind.value} it with its hash")


def approve(services: Services, plan_id: str, actor: User, *, version: int | None = None,
            plan_hash: str | None = None, comment: str | None = None,
            now: datetime | None = None) -> GateState:
    """Record ``actor``'s approval if the gate's rules allow it; the version turns APPROVED when enough.

    ``plan_hash`` (a prefix of at least ``MIN_HASH_PREFIX`` hex characters) pins the version the
    approver reviewed: when the version to approve (``version``, else the latest) has another
    hash, nothing is approved (``version_changed``). The checks, the approval, the status and
    the ledger event are one transaction under the plan's lock: a revision, a rejection or
    another approval lands wholly before or after it. The approval is given at ``now``, by
    default the database's time read under that lock: stamped with it, it expires
    ``approval_ttl_s`` later by the same clock that judges it.
    """
    user = services.settings.user_named(actor.id)
    seen = pinned_hash(plan_hash) if plan_hash is not None else None
    comment = redact(comment, services.secret_values)  # the store keeps what the ledger does
    # Outside the lock: the policies take their time, and the gate below reads what it recorded.
    again = decide_again(services, services.plan_store.get(plan_id, version), now=now)
    if again is not None and not again.decision.allow:
        raise ApprovalRefused(RefusalCode.DENIED_PLAN, denied_again_text(again))
    with services.plan_store.locked(plan_id) as plan:
        stored, decided, records, authors = _locked_state(services, plan, version)
        _check_seen(plan, stored, seen)
        now = now or plan.database_now()
        held = held_secrets(services, stored)
        if held:  # it could never run (see gates._gate): an approval would only mislead
            raise ApprovalRefused(RefusalCode.HELD_SECRET,
                                  f"plan {plan_id} v{stored.version} cannot be approved: {held}")
        try:
            check_can_approve(user.id, user.roles, _target(plan, stored, decided, authors),
                              decided.decision if decided else None, records, now,
                              approval_ttl(services), current_roles=current_roles(services))
        except ApprovalRefused as refused:
            cleared = _cleared_by_decision(services, refused, again, stored, decided, records,
                                           authors, now)
            if cleared is None:
                cleared = _completed_already(services, refused, plan, stored, user.id, now)
            if cleared is None:
                raise
            return cleared
        assert decided is not None  # check_can_approve refuses a version without a decision
        record = ApprovalRecord(
            plan_id=plan_id, version=stored.version, plan_hash=stored.plan_hash, actor=user.id,
            kind=ApprovalKind.APPROVE, comment=comment, decided_at=now,
            expires_at=now + approval_ttl(services))
        plan.add_record(record)
        state = evaluate_gate(decided.decision, stored.requester, [*records, record], now,
                              stored.plan_hash, approval_ttl(services), current_roles(services),
                              authors=authors)
        if state.status is GateStatus.APPROVED:
            plan.move_status(stored.version, VersionStatus.APPROVED,
                             only_from={VersionStatus.PENDING_APPROVAL})
        services.ledger.append(EventKind.APPROVAL, plan_id, user.id, {
            "version": stored.version, "plan_hash": stored.plan_hash, "comment": comment,
            "expires_at": record.expires_at.isoformat() if record.expires_at else None,
            "gate": state.status.value, "missing": state.missing_count,
        }, session=plan.session)
    return state


# What ``approve`` answers when the decision it took again needs no approval any more.
NO_APPROVAL_NOW = "the decision was taken again: it needs no approval now"


def _cleared_by_decision(services: Services, refused: ApprovalRefused, again: Redecision | None,
                         stored: StoredVersion, decided: StoredDecision | None,
                         records: list[ApprovalRecord], authors: tuple[str, ...],
                         now: datetime) -> GateState | None:
    """The gate, approved, when ``approve`` found nothing to approve because the decision it
    took again made the version a standard change (approved by the policies alone): the
    approver asked for the version to be cleared, and it is. None otherwise (the refusal
    stands): a version that needs no approval without a decision taken again is refused as
    ever, and so is every refusal but ``not_needed`` (the four-eyes rules come first)."""
    if (again is None or refused.refusal is not RefusalCode.NOT_NEEDED or decided is None
            or stored.status is not VersionStatus.APPROVED):
        return None
    state = evaluate_gate(decided.decision, stored.requester, records, now, stored.plan_hash,
                          approval_ttl(services), current_roles(services), authors=authors)
    if state.status is not GateStatus.APPROVED:
        return None
    return state.model_copy(update={"reasons": (*state.reasons, NO_APPROVAL_NOW)})


# What ``approve`` answers when the approver's approval already counts and the approvals that
# count now complete the gate of a version that was still pending approval.
GATE_COMPLETE_NOW = "the gate is complete with the approvals that count now: it is approved"


def _completed_already(services: Services, refused: ApprovalRefused, plan: PlanGate,
                       stored: StoredVersion, actor: str, now: datetime) -> GateState | None:
    """The gate, approved, when ``approve`` refused ``actor`` as having approved already and
    the approvals that count now complete the gate of a version still pending approval (an
    approval counts again: its approver has the role back): the approver asked for the
    version to be approved, and it is. None otherwise (the refusal stands)."""
    if refused.refusal is not RefusalCode.DOUBLE_APPROVAL:
        return None
    state = completed_gate(services, plan, stored.version, asked_by=actor, now=now)
    if state is None:
        return None
    return state.model_copy(update={"reasons": (*state.reasons, GATE_COMPLETE_NOW)})


# A version may be rejected until it is ended (rejected, superseded) or never was judged.
_REJECTABLE = frozenset({VersionStatus.VALIDATED, VersionStatus.PENDING_APPROVAL,
                         VersionStatus.APPROVED, VersionStatus.DENIED})


def reject(services: Services, plan_id: str, actor: User, *, reason: str,
           version: int | None = None, plan_hash: str | None = None,
           now: datetime | None = None) -> GateState:
    """Reject a version with a reason: it is ended (REJECTED); a revision makes a new one.

    Like :func:`approve`, ``plan_hash`` pins the version reviewed (``version_changed``
    otherwise), it is one transaction under the plan's lock, and the rejection is stamped
    with ``now``, by default the database's time read under it.
    """
    user = services.settings.user_named(actor.id)
    reason = (reason or "").strip()
    if not reason:
        raise BatonError("a rejection needs a reason (--reason); the planner and requester read it",
                         code="missing_reason")
    seen = pinned_hash(plan_hash) if plan_hash is not None else None
    reason = redact(reason, services.secret_values)  # the store keeps what the ledger does
    with services.plan_store.locked(plan_id) as plan:
        stored, decided, records, authors = _locked_state(services, plan, version)
        _check_seen(plan, stored, seen, ApprovalKind.REJECT)
        now = now or plan.database_now()
        check_can_reject(user.id, user.roles, _target(plan, stored, decided, authors),
                         decided.decision if decided else None, records)
        assert decided is not None  # check_can_reject refuses a version without a decision
        record = ApprovalRecord(
            plan_id=plan_id, version=stored.version, plan_hash=stored.plan_hash, actor=user.id,
            kind=ApprovalKind.REJECT, comment=reason, decided_at=now)
        plan.add_record(record)
        plan.move_status(stored.version, VersionStatus.REJECTED, only_from=_REJECTABLE)
        services.ledger.append(EventKind.REJECTION, plan_id, user.id, {
            "version": stored.version, "plan_hash": stored.plan_hash, "reason": reason},
            session=plan.session)
    return evaluate_gate(decided.decision, stored.requester, [*records, record], now,
                         stored.plan_hash, approval_ttl(services), current_roles(services),
                         authors=authors)
