"""The approval gate: where a version stands, and whether it may run now.

The executor's use cases call :func:`require_approved` before every run and resume; pages,
listings and the CLI show :func:`gate_state` and :func:`gate_views`.

A version's stored status follows its gate when approvals count again: one still pending
approval whose gate is complete with the approvals that count now (an approver has the
role back that they lacked when the last approval came) is moved to APPROVED by
:func:`complete_gate`, before a run or when an approver asks again, and the move is
recorded with the approvals that made it. Reading never moves it. The reverse is not
done: an approved version whose gate is pending again keeps its status and may not run.

An approval is judged current or lapsed by the database server's clock
(``executor.store.clock``), read once per verdict, never by the clock of the machine that
judges it (API servers and workers on several machines may disagree by hours). The ``now``
every use case here takes is that instant given outright (tests pin time with it); None
reads the database's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime

import structlog
from pydantic import BaseModel, ConfigDict, Field

from executor.ledger import EventKind, SystemActor
from executor.store.approvals import StoredDecision
from executor.store.clock import database_now
from executor.store.plans import PlanGate
from planner.versions import StoredVersion, VersionStatus
from policies.approval import (
    ApprovalRecord,
    GateState,
    GateStatus,
    NotApprovedError,
    evaluate_gate,
)
from tools.redaction import redact

from ..services import Services
from .approval_records import (
    approval_ttl,
    current_roles,
    other_authors,
    other_authors_of,
    shown_record,
    shown_records,
)
from .deciding import OPEN_STATUSES, decide_again, denied_again_text
from .lapses import APPROVAL_LAPSED_FIELD, lapse_causes, lapse_detail, lapse_text, lapses
from .plans import held_secrets

log = structlog.get_logger(__name__)

__all__ = ["GATE_ACTOR", "GateView", "NotApprovedError", "complete_gate", "completed_gate",
           "gate_state", "gate_states", "gate_views", "require_approved"]


def gate_state(services: Services, plan_id: str, version: int | None = None, *,
               now: datetime | None = None) -> GateState:
    """Where a version stands at the gate at ``now`` (None: the database's time): expired
    approvals, and approvers who lost the role, no longer count."""
    stored = services.plan_store.get(plan_id, version)
    return _gate(services, stored, services.approval_store.latest_decision(plan_id, stored.version),
                 lambda: shown_records(services, plan_id, stored.version),
                 lambda: other_authors_of(services, stored), now)


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
                       other_authors(authors.get(stored.plan_id, ()), stored.requester), now)
            for stored, key in zip(versions, keys, strict=True)}


def _view(services: Services, stored: StoredVersion, decided: StoredDecision | None,
          records: list[ApprovalRecord], authors: tuple[str, ...], now: datetime) -> GateView:
    """The gate's verdict on ``stored``; an approved version it holds pending again is marked."""
    gate = _gate(services, stored, decided, lambda: records, lambda: authors, now)
    if stored.status is not VersionStatus.APPROVED or gate.status is not GateStatus.PENDING:
        return GateView(gate=gate)
    causes = lapse_causes(stored, decided.decision if decided else None, records, authors,
                          roles=current_roles(services), ttl=approval_ttl(services), now=now)
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
    return _shown(services, evaluate_gate(
        decided.decision, stored.requester, records(), now or database_now(services.engine),
        current_hash, approval_ttl(services), current_roles(services), authors=authors()))


def _shown(services: Services, state: GateState) -> GateState:
    """``state`` with configured secrets masked in its reasons: they quote the policies'
    messages, which may hold a secret in a form the stored decision was not masked for (a
    host name is read lower-cased), or one configured since the decision."""
    reasons = tuple(redact(list(state.reasons), services.recognisable_secrets))
    return state if reasons == state.reasons else state.model_copy(update={"reasons": reasons})


# The ledger's actor for a version approved by the approvals it already had: no person
# approved anything at that moment (``asked_by`` in the event names who asked, if anyone).
GATE_ACTOR = SystemActor.GATE.value
_COMPLETED_WHY = ("the approvals recorded for it complete the gate with the roles settings "
                  "give now (an approver whose approval had stopped counting has the role "
                  "back); no new approval was given")


def complete_gate(services: Services, plan_id: str, version: int | None = None, *,
                  asked_by: str | None = None, now: datetime | None = None) -> GateState | None:
    """:func:`completed_gate` under the plan's lock, at ``now`` (None: the database's time
    read under it)."""
    with services.plan_store.locked(plan_id) as plan:
        return completed_gate(services, plan, version, asked_by=asked_by,
                              now=now or plan.database_now())


def completed_gate(services: Services, plan: PlanGate, version: int | None, *,
                   asked_by: str | None, now: datetime) -> GateState | None:
    """Approve the current version if it is still pending approval while its gate is complete
    with the approvals that count at ``now`` (current roles, unexpired, for its hash); the
    gate, or None when nothing moved. The caller holds the plan's lock.

    The stored status otherwise turns APPROVED only when a new approval completes the gate:
    an approval that stopped counting when its approver lost the role, and counts again once
    it is given back, would leave the version approved by its gate yet refused a run, with
    every approver who counts refused as having approved already. The move is recorded (a
    ``gate_complete`` event by ``gate``, naming the approvals that complete it: no approval
    event, which would count as one more) once: the status
    is moved only from PENDING_APPROVAL, under the lock, and the event only when it moved.
    """
    stored = plan.version(version)
    if stored.status is not VersionStatus.PENDING_APPROVAL or stored.version != plan.latest_version:
        return None
    records = [shown_record(services, r) for r in plan.records(stored.version)]
    authors = other_authors(plan.authors(), stored.requester)
    state = _gate(services, stored, plan.latest_decision(stored.version), lambda: records,
                  lambda: authors, now)
    if state.status is not GateStatus.APPROVED or not plan.move_status(
            stored.version, VersionStatus.APPROVED, only_from={VersionStatus.PENDING_APPROVAL}):
        return None
    services.ledger.append(EventKind.GATE_COMPLETE, stored.plan_id, GATE_ACTOR, {
        "version": stored.version, "plan_hash": stored.plan_hash, "gate": state.status.value,
        "missing": 0, "asked_by": asked_by,
        "completed_by": [{"actor": r.actor, "approved_at": r.decided_at.isoformat(),
                          "expires_at": r.expires_at.isoformat() if r.expires_at else None}
                         for r in state.valid_approvals],
        "why": _COMPLETED_WHY,
    }, session=plan.session)
    log.info("gate.completed", plan_id=stored.plan_id, version=stored.version,
             approvers=[r.actor for r in state.valid_approvals], asked_by=asked_by)
    return state


def require_approved(services: Services, plan_id: str, version: int | None = None, *,
                     now: datetime | None = None) -> StoredVersion:
    """The version if it may run now; ``NotApprovedError`` naming why not otherwise.

    Its decision is taken again first when the policies may have changed under it
    (:func:`decide_again`), a pending version's too (a change undone since may make it a
    standard change again); a pending version whose gate is complete with the approvals
    that count now is approved (:func:`complete_gate`); and the status it then has is
    judged: the run is judged by the policies in force when it starts, and its approvals by
    the database's time then (``now`` when given), whatever the clock of the machine
    starting it.
    """
    stored = services.plan_store.get(plan_id, version)
    if stored.status not in OPEN_STATUSES:
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
                               + denied_again_text(again))
    if again is not None:  # its status follows the decision taken again
        stored = services.plan_store.get(plan_id, stored.version)
    # And its gate: approvals that count again (an approver with the role back) may complete
    # it without a new approval. Read again whatever it did: another run may have done it.
    if stored.status is VersionStatus.PENDING_APPROVAL:
        complete_gate(services, plan_id, stored.version, now=now)
        stored = services.plan_store.get(plan_id, stored.version)
    if stored.status is not VersionStatus.APPROVED and (again is None
                                                        or stored.status not in OPEN_STATUSES):
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
                   shown_records(services, stored.plan_id, stored.version),
                   other_authors_of(services, stored), roles=current_roles(services),
                   ttl=approval_ttl(services), now=now)
    if not found:
        return ""
    return (f"its approval lapsed ({lapse_detail(found)}); an approver must approve "
            f"v{stored.version} again: ")
