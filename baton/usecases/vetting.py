"""Vetting use cases: the policy decision on a stored version, approvals, rejections, the gate.

The executor's use cases call :func:`require_approved` before every run and resume.

An approval's comment and a rejection's reason are stored with configured secret values
masked, as the ledger records them; every record read back for people passes through
:func:`shown_record`, since one stored before its secret was configured still holds it.

Approval time is the database's (``executor.store.clock``): an approval or rejection is
stamped, and an approval judged current or lapsed, by the database server's clock, read once
per verdict, never by the clock of the machine that records or judges it (API servers and
workers on several machines may disagree by hours). The ``now`` every use case takes is that
instant given outright (tests pin time with it); None reads the database's clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from pydantic import BaseModel, ConfigDict, Field

from executor.ledger import EventKind
from executor.store.approvals import StoredDecision
from executor.store.clock import database_now
from executor.store.plans import PlanGate
from planner.versions import StoredVersion, VersionStatus
from policies.approval import (
    ApprovalKind,
    ApprovalRecord,
    ApprovalRefused,
    ApprovalTarget,
    GateState,
    GateStatus,
    NotApprovedError,
    RefusalCode,
    check_can_approve,
    check_can_reject,
    evaluate_gate,
)
from policies.contracts import Decision, Outcome, TemplateCheck
from policies.engine import ENGINE_ERROR
from tools import BatonError
from tools.redaction import redact

from ..services import Services
from ..settings import User
from .lapses import APPROVAL_LAPSED_FIELD, lapse_causes, lapse_detail, lapse_text, lapses
from .plans import held_secrets
from .policy_input import (
    input_hash,
    policy_input,
    stamped_hash,
    template_check,
    template_check_hash,
)

log = structlog.get_logger(__name__)

STATUS_FOR = {Outcome.DENIED: VersionStatus.DENIED, Outcome.NEEDS_APPROVAL:
              VersionStatus.PENDING_APPROVAL, Outcome.ALLOWED: VersionStatus.APPROVED}

__all__ = ["MIN_HASH_PREFIX", "NO_APPROVAL_NOW", "GateView", "NotApprovedError", "Redecision",
           "approval_history", "approval_ttl", "approve", "current_role_holders", "decide_again",
           "decision_for", "gate_state", "gate_states", "gate_views", "input_hash", "pinned_hash",
           "reject", "require_approved", "shown_record", "stale_decision", "template_check",
           "template_check_hash", "vet_version"]


def _decision_event(version: StoredVersion, decision: Decision, template: TemplateCheck | None,
                    hashed: str, **extra: object) -> dict:
    event = {"version": version.version, "plan_hash": version.plan_hash, "engine": decision.engine,
             "bundle_hash": decision.bundle_hash, "input_hash": hashed,
             "decision": decision.model_dump(mode="json")}
    if template is not None:  # what the decision rested on beside the bundle and the plan
        event |= {"template_check": template.model_dump(mode="json"),
                  "template_check_hash": template_check_hash(template)}
    return event | extra


def vet_version(services: Services, version: StoredVersion, *, now: datetime | None = None
                ) -> Decision:
    """Decide a valid version, store and record the decision, and set its status from it."""
    if version.status is VersionStatus.INVALID:
        raise BatonError(f"plan {version.plan_id} v{version.version} is invalid; fix it first",
                         code="invalid_plan")
    template = template_check(services, version)
    decision = services.policy_engine.decide(
        policy_input(services, version, now or datetime.now(UTC), template))
    stamp, hashed = stamped_hash(services, version, template)
    with services.plan_store.locked(version.plan_id) as plan:
        plan.record_decision(version.version, version.plan_hash, decision, stamp, hashed)
        services.ledger.append(EventKind.DECISION, version.plan_id, "policy",
                               _decision_event(version, decision, template, hashed),
                               session=plan.session)
        # Only a version nobody has moved on meanwhile: a revision that superseded it while
        # the policies were deciding keeps it superseded (a standard change would run).
        plan.move_status(version.version, STATUS_FOR[decision.outcome],
                         only_from={VersionStatus.VALIDATED})
    log.info("policy.decided", plan_id=version.plan_id, version=version.version,
             outcome=decision.outcome.value, engine=decision.engine)
    return decision


class Redecision(BaseModel):
    """A stored decision taken again with the policies in force now, and why."""

    model_config = ConfigDict(frozen=True)

    why: str = Field(description="Why it was taken again (the bundle or the policy input "
                                 "changed).")
    decision: Decision = Field(description="The decision now, recorded unless the engine failed.")


# Statuses a decision taken again may move (a version still waiting or approved).
_OPEN = frozenset({VersionStatus.PENDING_APPROVAL, VersionStatus.APPROVED})


def _why_decide_again(services: Services, stored: StoredVersion, decided: StoredDecision,
                      template: TemplateCheck | None, rebuilt: Mapping) -> str | None:
    """Why the stored decision may no longer be what the policies say (None: it stands).

    ``rebuilt`` is the policy input made now as of the decision's time: beside the bundle,
    the decision rests on all of it (the requester's and author's roles in settings, the
    tools' specs, a template-made version's check), so it is compared with the input the
    decision was taken on by hash. Whatever the decision was and whatever its notes say.
    """
    current = services.policy_engine.bundle_hash
    name = f"plan {stored.plan_id} v{stored.version}"
    if decided.decision.bundle_hash != current:
        return (f"the policies changed since {name} was decided "
                f"(bundle {decided.decision.bundle_hash[:12]} is now {current[:12]})")
    if decided.input_hash is None:  # decided before the input was recorded: fail closed
        return (f"{name} was decided before the input its decision rested on was recorded "
                f"with decisions, so it is checked again now")
    if decided.input_hash == input_hash(rebuilt):
        return None
    # Only the hash is stored, so the reason names what may have changed, and the template
    # check as it is now.
    parts = "the requester's or author's roles, or the specs of the tools it calls"
    if stored.origin is not None:
        parts = (f"the requester's or author's roles, the specs of the tools it calls, or "
                 f"template {stored.origin.name} v{stored.origin.version}, which it was made "
                 f"from (now: {_in_words(template)})")
    return f"what the policies judge {name} on changed since it was decided ({parts})"


def _in_words(template: TemplateCheck | None) -> str:
    """A template check as a reason shows it."""
    if template is None:  # not reached: a template-made version always has a check
        return "no template"
    approval = (f"pre-approved by {template.approved_by or 'nobody on record'}"
                if template.pre_approved else "not pre-approved")
    if template.pre_approval_problems:
        approval += (f", whose pre-approval no longer counts "
                     f"({'; '.join(template.pre_approval_problems)})")
    bounds = ("the plan inside its bounds" if template.within_bounds
              else "; ".join(template.bound_problems) or "the plan outside its bounds")
    return f"{approval}, {bounds}"


@dataclass(frozen=True)
class _Reconsidered:
    """An open version's latest decision, its input rebuilt as of its time, and why it may
    no longer hold (None: it stands)."""

    decided: StoredDecision
    template: TemplateCheck | None
    rebuilt: Mapping
    why: str | None


def _reconsidered(services: Services, stored: StoredVersion) -> _Reconsidered | None:
    """What :func:`decide_again` and :func:`stale_decision` judge ``stored`` by (read only,
    the engine not asked); None for a closed or undecided version."""
    decided = services.approval_store.latest_decision(stored.plan_id, stored.version)
    if stored.status not in _OPEN or decided is None:
        return None
    template = template_check(services, stored)
    # As of the decision's own time: the question is whether the policies or what they judge
    # changed, not whether this hour suits a batch job (each call is judged when it runs).
    rebuilt = policy_input(services, stored, decided.decided_at, template)
    return _Reconsidered(decided=decided, template=template, rebuilt=rebuilt,
                         why=_why_decide_again(services, stored, decided, template, rebuilt))


def stale_decision(services: Services, plan_id: str, version: int | None = None) -> str | None:
    """Why a version's decision will be taken again before its next approval or run (what
    :func:`decide_again` would record), as shown; None: it stands, or the version is closed.

    Asks the policy engine nothing and writes nothing. Reads the version as stored: the
    input hash is of the stored plan, not of one masked for showing."""
    found = _reconsidered(services, services.plan_store.get(plan_id, version))
    if found is None or found.why is None:
        return None
    # A template's bound problems quote parameters: one may hold a value since made secret.
    return redact(found.why, services.recognisable_secrets)


def decide_again(services: Services, stored: StoredVersion, *, now: datetime | None = None
                 ) -> Redecision | None:
    """Take an open version's decision again when the policies may have changed under it.

    Fails closed: the policy bundle's hash differs from the decision's, or the policy input
    rebuilt now as of the decision's time (roles from settings, tools' specs, the template
    check of a template-made version: :func:`input_hash`) differs from the one the decision
    was taken on, or none was recorded with it. The new decision is recorded (a
    DECISION event naming why) and the version's status follows it: DENIED on a deny, else
    APPROVED or PENDING_APPROVAL as its approvals satisfy the new decision. An engine failure
    is returned (a deny) but not recorded: the version is refused now, not ended. None: the
    decision stands (the engine was not asked). The policies judge the version as of the
    stored decision's time (``context.now``); its approvals are judged at ``now`` (None: the
    database's time, read under the plan's lock).
    """
    found = _reconsidered(services, stored)
    if found is None or found.why is None:
        return None
    decided, template, rebuilt, why = found.decided, found.template, found.rebuilt, found.why
    decision = services.policy_engine.decide(rebuilt)
    if any(reason.startswith(ENGINE_ERROR) for reason in decision.deny):
        return Redecision(why=why, decision=decision)
    # Stamped with the clock, not ``now`` (a caller's instant may be earlier); the input is
    # built outside the lock (it reads the version before this one).
    stamp, hashed = stamped_hash(services, stored, template)
    with services.plan_store.locked(stored.plan_id) as plan:
        fresh = plan.version(stored.version)
        if (fresh.status not in _OPEN or plan.latest_version != fresh.version
                or plan.latest_decision(fresh.version) != decided):
            return Redecision(why=why, decision=decision)  # moved on meanwhile: nothing to record
        # Recorded with the input's hash, even when the verdict is the same: the next run
        # compares with it, and takes no decision while it holds.
        plan.record_decision(fresh.version, fresh.plan_hash, decision, stamp, hashed)
        services.ledger.append(EventKind.DECISION, fresh.plan_id, "policy", _decision_event(
            fresh, decision, template, hashed, decided_again=why,
            previous_bundle_hash=decided.decision.bundle_hash,
            previous_input_hash=decided.input_hash), session=plan.session)
        plan.move_status(fresh.version, _status_after(services, plan, fresh, decision, now),
                         only_from=_OPEN)
    log.info("policy.decided_again", plan_id=stored.plan_id, version=stored.version,
             outcome=decision.outcome.value, why=why)
    return Redecision(why=why, decision=decision)


def _status_after(services: Services, plan: PlanGate, stored: StoredVersion, decision: Decision,
                  now: datetime | None) -> VersionStatus:
    """The status a version takes from a new decision and the approvals it already has
    (current at ``now``; None: the database's time)."""
    if not decision.allow:
        return VersionStatus.DENIED
    records = [shown_record(services, r) for r in plan.records(stored.version)]
    state = evaluate_gate(decision, stored.requester, records, now or plan.database_now(),
                          stored.plan_hash, approval_ttl(services), _current_roles(services),
                          authors=_other_authors(plan.authors(), stored.requester))
    return (VersionStatus.APPROVED if state.status is GateStatus.APPROVED
            else VersionStatus.PENDING_APPROVAL)


def decision_for(services: Services, plan_id: str, version: int | None = None
                 ) -> StoredDecision | None:
    """The latest stored decision on a version (latest version when None), as shown.

    Its messages quote the plan (step ids): one decided before a secret was configured is
    shown with the value masked, like the version itself (``shown_version``).
    """
    stored = services.plan_store.get(plan_id, version)
    decided = services.approval_store.latest_decision(plan_id, stored.version)
    if decided is None:
        return None
    data = decided.model_dump(mode="json")
    masked = redact(data, services.recognisable_secrets)
    return decided if masked == data else StoredDecision.model_validate(masked)


def shown_record(services: Services, record: ApprovalRecord) -> ApprovalRecord:
    """``record`` as people may see it: configured secret values in its comment masked."""
    comment = redact(record.comment, services.secret_values)
    return record if comment == record.comment else record.model_copy(update={"comment": comment})


def _records(services: Services, plan_id: str, version: int) -> list[ApprovalRecord]:
    """The approvals and rejections of a version, as shown (the gate's reasons quote them)."""
    return [shown_record(services, r) for r in services.approval_store.records(plan_id, version)]


def approval_history(services: Services, plan_id: str) -> list[ApprovalRecord]:
    """Every approval and rejection of every version of a plan, oldest first, as shown."""
    latest = services.plan_store.get(plan_id).version
    found = services.approval_store.records_of([(plan_id, v) for v in range(1, latest + 1)])
    return sorted((shown_record(services, r) for records in found.values() for r in records),
                  key=lambda r: r.decided_at)


def approval_ttl(services: Services) -> timedelta:
    """How long an approval counts, as set now (``approval_ttl_s``)."""
    return timedelta(seconds=services.settings.approval_ttl_s)


def _current_roles(services: Services) -> dict[str, tuple[str, ...]]:
    """Every declared user's roles as settings give them now (approvals are re-checked against these)."""
    return {uid: tuple(user.roles) for uid, user in services.settings.users.items()}


def current_role_holders(services: Services) -> dict[str, frozenset[str]]:
    """Each role and the declared users holding it now: whose approvals still count."""
    holders: dict[str, set[str]] = {}
    for uid, roles in _current_roles(services).items():
        for role in roles:
            holders.setdefault(role, set()).add(uid)
    return {role: frozenset(users) for role, users in holders.items()}


def _target(plan: PlanGate, stored: StoredVersion, decided: StoredDecision | None,
            authors: tuple[str, ...]) -> ApprovalTarget:
    return ApprovalTarget(plan_id=stored.plan_id, version=stored.version,
                          latest_version=plan.latest_version, plan_hash=stored.plan.plan_hash(),
                          decided_hash=decided.plan_hash if decided else "",
                          requester=stored.requester, authors=authors)


def _authors(services: Services, stored: StoredVersion) -> tuple[str, ...]:
    """Everyone who wrote a version of the plan, the requester aside (an approver who revised it)."""
    return _other_authors(services.plan_store.authors(stored.plan_id), stored.requester)


def _other_authors(authors: Collection[str], requester: str) -> tuple[str, ...]:
    return tuple(sorted(set(authors) - {requester}))


def _locked_state(services: Services, plan: PlanGate, version: int | None
                  ) -> tuple[StoredVersion, StoredDecision | None, list[ApprovalRecord],
                             tuple[str, ...]]:
    """A version, its decision, its records (as shown) and the plan's other authors, read
    under the plan's lock: what the gate's checks and the write they allow both rest on."""
    stored = plan.version(version)
    records = [shown_record(services, r) for r in plan.records(stored.version)]
    return (stored, plan.latest_decision(stored.version), records,
            _other_authors(plan.authors(), stored.requester))


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
        raise ApprovalRefused(RefusalCode.DENIED_PLAN, _denied_again(again))
    with services.plan_store.locked(plan_id) as plan:
        stored, decided, records, authors = _locked_state(services, plan, version)
        _check_seen(plan, stored, seen)
        now = now or plan.database_now()
        held = held_secrets(services, stored)
        if held:  # it could never run (see _gate): an approval would only mislead
            raise ApprovalRefused(RefusalCode.HELD_SECRET,
                                  f"plan {plan_id} v{stored.version} cannot be approved: {held}")
        try:
            check_can_approve(user.id, user.roles, _target(plan, stored, decided, authors),
                              decided.decision if decided else None, records, now,
                              approval_ttl(services))
        except ApprovalRefused as refused:
            cleared = _cleared_by_decision(services, refused, again, stored, decided, records,
                                           authors, now)
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
                              stored.plan_hash, approval_ttl(services), _current_roles(services),
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
                          approval_ttl(services), _current_roles(services), authors=authors)
    if state.status is not GateStatus.APPROVED:
        return None
    return state.model_copy(update={"reasons": (*state.reasons, NO_APPROVAL_NOW)})


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
                         stored.plan_hash, approval_ttl(services), _current_roles(services),
                         authors=authors)


def gate_state(services: Services, plan_id: str, version: int | None = None, *,
               now: datetime | None = None) -> GateState:
    """Where a version stands at the gate at ``now`` (None: the database's time): expired
    approvals, and approvers who lost the role, no longer count."""
    stored = services.plan_store.get(plan_id, version)
    return _gate(services, stored, services.approval_store.latest_decision(plan_id, stored.version),
                 lambda: _records(services, plan_id, stored.version),
                 lambda: _authors(services, stored), now)


def gate_states(services: Services, versions: Sequence[StoredVersion],
                authors: Mapping[str, Collection[str]], *,
                now: datetime | None = None) -> dict[tuple[str, int], GateState]:
    """:func:`gate_state` of several stored versions with a fixed number of reads, for pages
    that list plans; ``authors`` maps each plan id to everyone who wrote a version of it."""
    return {key: view.gate for key, view in gate_views(services, versions, authors,
                                                       now=now).items()}


class GateView(BaseModel):
    """Where a listed version stands at the gate, and whether its approval lapsed."""

    model_config = ConfigDict(frozen=True)

    gate: GateState = Field(description="The gate's verdict now.")
    approval_lapsed: str | None = Field(default=None, description=APPROVAL_LAPSED_FIELD)


def gate_views(services: Services, versions: Sequence[StoredVersion],
               authors: Mapping[str, Collection[str]], *,
               now: datetime | None = None) -> dict[tuple[str, int], GateView]:
    """:func:`gate_states`, each with why an approved version's approval lapsed, from the
    same fixed number of reads (the database's clock among them, once for all, unless
    ``now`` is given)."""
    if not versions:
        return {}
    now = now or database_now(services.engine)
    keys = [(s.plan_id, s.version) for s in versions]
    decisions = services.approval_store.latest_decisions(keys)
    records = {key: [shown_record(services, r) for r in found]
               for key, found in services.approval_store.records_of(keys).items()}
    return {key: _view(services, stored, decisions.get(key), records[key],
                       _other_authors(authors.get(stored.plan_id, ()), stored.requester), now)
            for stored, key in zip(versions, keys, strict=True)}


def _view(services: Services, stored: StoredVersion, decided: StoredDecision | None,
          records: list[ApprovalRecord], authors: tuple[str, ...], now: datetime) -> GateView:
    """The gate's verdict on ``stored``; an approved version it holds pending again is marked."""
    gate = _gate(services, stored, decided, lambda: records, lambda: authors, now)
    if stored.status is not VersionStatus.APPROVED or gate.status is not GateStatus.PENDING:
        return GateView(gate=gate)
    causes = lapse_causes(stored, decided.decision if decided else None, records, authors,
                          roles=_current_roles(services), ttl=approval_ttl(services), now=now)
    return GateView(gate=gate, approval_lapsed=lapse_text(causes))


def _gate(services: Services, stored: StoredVersion, decided: StoredDecision | None,
          records: Callable[[], list[ApprovalRecord]], authors: Callable[[], tuple[str, ...]],
          now: datetime | None) -> GateState:
    """The gate's verdict on ``stored`` given its latest decision (records and authors are
    read only when the decision stands)."""
    if stored.status is VersionStatus.SUPERSEDED:  # whatever its approvals: it can never run
        return GateState(status=GateStatus.SUPERSEDED, missing_count=0, eligible_roles=(),
                         valid_approvals=(), reasons=(
                             f"v{stored.version} was superseded by v{stored.version + 1}; "
                             "approve the latest version",))
    if decided is None:
        why = ("the plan is invalid" if stored.status is VersionStatus.INVALID
               else "no policy decision yet")
        return GateState(status=GateStatus.DENIED if stored.status is VersionStatus.INVALID
                         else GateStatus.PENDING, missing_count=0, eligible_roles=(),
                         valid_approvals=(), reasons=(why,))
    # A version stored before its secret was configured never runs: a tool would get the
    # value outside ${secret:NAME}, where no secret destination rule can see it.
    held = held_secrets(services, stored)
    current_hash = stored.plan.plan_hash()
    if held or current_hash != decided.plan_hash or current_hash != stored.plan_hash:
        return GateState(status=GateStatus.DENIED, missing_count=0, eligible_roles=(),
                         valid_approvals=(),
                         reasons=(held or "the plan changed after its decision",))
    return evaluate_gate(decided.decision, stored.requester, records(),
                         now or database_now(services.engine), current_hash,
                         approval_ttl(services), _current_roles(services), authors=authors())


def _denied_again(again: Redecision) -> str:
    reasons = "; ".join(again.decision.deny)
    if any(reason.startswith(ENGINE_ERROR) for reason in again.decision.deny):
        return (f"{again.why}, and they cannot judge it now ({reasons}); "
                f"the version was left as it was: try again once the policy engine answers")
    return f"{again.why}, and they now deny it: {reasons}"


def require_approved(services: Services, plan_id: str, version: int | None = None, *,
                     now: datetime | None = None) -> StoredVersion:
    """The version if it may run now; ``NotApprovedError`` naming why not otherwise.

    Its decision is taken again first when the policies may have changed under it
    (:func:`decide_again`), a pending version's too (a change undone since may make it a
    standard change again), and the status it then has is judged: the run is judged by the
    policies in force when it starts, and
    its approvals by the database's time then (``now`` when given), whatever the clock of
    the machine starting it.
    """
    stored = services.plan_store.get(plan_id, version)
    if stored.status not in _OPEN:
        raise NotApprovedError(f"plan {plan_id} v{stored.version} is {stored.status.value}, "
                               "not approved")
    latest = services.plan_store.get(plan_id).version
    if stored.version != latest:  # approvals are for the current version only
        raise NotApprovedError(f"plan {plan_id} v{stored.version} is not the current version "
                               f"(v{latest} is); only the current version may run")
    # A pending version too: the change that made it wait may have been undone since (a
    # pre-approver given the role back), and only a decision taken again can tell.
    again = decide_again(services, stored, now=now)
    if again is not None and not again.decision.allow:
        raise NotApprovedError(f"plan {plan_id} v{stored.version} may not run: "
                               + _denied_again(again))
    if again is not None:  # its status follows the decision taken again
        stored = services.plan_store.get(plan_id, stored.version)
    if stored.status is not VersionStatus.APPROVED and (again is None
                                                        or stored.status not in _OPEN):
        raise NotApprovedError(f"plan {plan_id} v{stored.version} is {stored.status.value}, "
                               "not approved")
    # Read once the policies have answered, for the gate and the lapses it names alike.
    now = now or database_now(services.engine)
    state = gate_state(services, plan_id, stored.version, now=now)
    # Both must say approved: the status, as the decision taken again left it, and the gate.
    if state.status is not GateStatus.APPROVED or stored.status is not VersionStatus.APPROVED:
        prefix = f"{again.why}; " if again is not None else ""
        if state.status is GateStatus.PENDING:
            prefix += _lapsed(services, stored, now)
        if state.status is GateStatus.APPROVED:  # the version moved on meanwhile
            reasons: tuple[str, ...] = (f"it is {stored.status.value}, not approved",)
        else:
            reasons = state.reasons or (state.status.value,)
        raise NotApprovedError(f"plan {plan_id} v{stored.version} may not run: {prefix}"
                               + "; ".join(reasons))
    return stored


def _lapsed(services: Services, stored: StoredVersion, now: datetime) -> str:
    """What an analyst refused a run of an approved version must know when its approvals
    lapsed: when, and that it needs approving again (the gate's reasons follow: by whom);
    empty when none lapsed. Read only on refusal."""
    decided = services.approval_store.latest_decision(stored.plan_id, stored.version)
    found = lapses(stored, decided.decision if decided else None,
                   _records(services, stored.plan_id, stored.version),
                   _authors(services, stored), roles=_current_roles(services),
                   ttl=approval_ttl(services), now=now)
    if not found:
        return ""
    return (f"its approval lapsed ({lapse_detail(found)}); an approver must approve "
            f"v{stored.version} again: ")
