"""The policy decision on a stored version: taken when it is vetted, taken again when it may
no longer hold.

:func:`vet_version` asks the policies about a valid version, stores and records the
decision, and sets the version's status from it. A decision rests on the policy bundle and
on the policy input (``policy_input``): when either changed since, :func:`decide_again`
takes it again before the version is approved (:mod:`.approving`) or run (:mod:`.gates`),
and :func:`stale_decision` says beforehand that it will, without asking the engine.

The policies judge a decision taken again as of the stored decision's time; the approvals
that then set the version's status are judged at the database's time
(``executor.store.clock``), or the ``now`` given outright (tests pin time with it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, Field

from executor.ledger import EventKind, SystemActor
from executor.store.approvals import StoredDecision
from executor.store.plans import PlanGate
from planner.versions import StoredVersion, VersionStatus
from policies.approval import GateStatus, evaluate_gate
from policies.contracts import Decision, Outcome, TemplateCheck
from policies.engine import ENGINE_ERROR
from tools import BatonError
from tools.redaction import redact

from ..services import Services
from .approval_records import approval_ttl, current_roles, other_authors, shown_record
from .policy_input import (
    input_hash,
    policy_input,
    stamped_hash,
    template_check,
    template_check_hash,
)

log = structlog.get_logger(__name__)

_Model = TypeVar("_Model", bound=BaseModel)

__all__ = ["OPEN_STATUSES", "STATUS_FOR", "Redecision", "decide_again", "decision_for",
           "denied_again_text", "stale_decision", "vet_version"]

STATUS_FOR = {Outcome.DENIED: VersionStatus.DENIED, Outcome.NEEDS_APPROVAL:
              VersionStatus.PENDING_APPROVAL, Outcome.ALLOWED: VersionStatus.APPROVED}


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
        services.ledger.append(EventKind.DECISION, version.plan_id, SystemActor.POLICY.value,
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
OPEN_STATUSES = frozenset({VersionStatus.PENDING_APPROVAL, VersionStatus.APPROVED})


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
    if stored.status not in OPEN_STATUSES or decided is None:
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
        if (fresh.status not in OPEN_STATUSES or plan.latest_version != fresh.version
                or plan.latest_decision(fresh.version) != decided):
            return Redecision(why=why, decision=decision)  # moved on meanwhile: nothing to record
        # Recorded with the input's hash, even when the verdict is the same: the next run
        # compares with it, and takes no decision while it holds.
        plan.record_decision(fresh.version, fresh.plan_hash, decision, stamp, hashed)
        event = _decision_event(fresh, decision, template, hashed, decided_again=why,
                                previous_bundle_hash=decided.decision.bundle_hash,
                                previous_input_hash=decided.input_hash)
        services.ledger.append(EventKind.DECISION, fresh.plan_id, SystemActor.POLICY.value,
                               event, session=plan.session)
        plan.move_status(fresh.version, _status_after(services, plan, fresh, decision, now),
                         only_from=OPEN_STATUSES)
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
                          stored.plan_hash, approval_ttl(services), current_roles(services),
                          authors=other_authors(plan.authors(), stored.requester))
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
    return _masked(services, decided)


def shown_decision(services: Services, decision: Decision) -> Decision:
    """A decision just taken (nothing stored), as shown: configured secrets masked in its
    messages, which may quote one a plan's tools hold in a form no step shows (a host name is
    read lower-cased)."""
    return _masked(services, decision)


def _masked(services: Services, model: _Model) -> _Model:
    """``model`` with configured secrets masked in its strings (itself when none is)."""
    data = model.model_dump(mode="json")
    masked = redact(data, services.recognisable_secrets)
    return model if masked == data else type(model).model_validate(masked)


def denied_again_text(again: Redecision) -> str:
    """Why a version whose decision was taken again and now denies it is refused."""
    reasons = "; ".join(again.decision.deny)
    if any(reason.startswith(ENGINE_ERROR) for reason in again.decision.deny):
        return (f"{again.why}, and they cannot judge it now ({reasons}); "
                f"the version was left as it was: try again once the policy engine answers")
    return f"{again.why}, and they now deny it: {reasons}"
