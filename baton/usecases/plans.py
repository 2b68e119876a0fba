"""Planning use cases: goal → stored plan version, hand-written plan files, revision, reading.

Every path ends in ``_store_version``: the one place where a new version is
stored and recorded in the ledger, both in one transaction. The policy decision plugs in right after
it, in ``_after_new_version``. A revision that gives no usable version (the
planner failed, the plan holds a secret's value or the mask mark, or another
version was added meanwhile) stores none: the latest version stays current, and
the ledger records the attempt (``_record_failed_revision``).

Every version handed back to be shown passes through :func:`shown_version`: one
stored before a secret was configured may hold its value, and no reader sees it.

A credential written into a URL (``?token=…``, ``/db;password=…``, ``https://user:pw@…``) is
never stored either: ``_store_version`` masks each one the policy rule against literal
credentials in URLs refuses, and user information as logs show it (:mod:`.plan_url_masking`),
in the goal, the plan, its template parameters, the feedback, errors, problems and the model's
replies, before anything is stored or recorded: a JSON or form text as what it encodes too, as
the policy reads it, and a template parameter spliced into such a URL wherever it is written.
Masked, the URL is refused for the same parameter, or for its user information, so the policy
still denies the version for the same reason; one the policies let through never runs
(:func:`held_secrets`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from executor.ledger import EventKind
from executor.store.plans import NewVersion, PlanChangedError, VersionRecorder
from executor.store.schema import ApprovalRow
from planner.base import PlannerKind, PlanningError, PlanningTrace, PlanResult
from planner.diff import PlanDiff, diff_plans
from planner.json_values import scalar_fault, storable
from planner.plan import TemplateOrigin
from planner.problems import InvalidPlanError, Problem
from planner.versions import StoredVersion, VersionStatus
from tools import BatonError

from ..limits import BODY_MAX_BYTES, REASON_MAX_CHARS
from ..services import Services
from .errors import UsageError
from .plan_checks import masked_problems as _masked_problems
from .plan_url_masking import url_credentials, url_masked_problems, without_url_literals
from ..settings import User

def default_planner_kind(services: Services) -> PlannerKind:
    """The LLM planner when an endpoint is configured, the template planner otherwise."""
    return PlannerKind.LLM if services.settings.llm.configured else PlannerKind.TEMPLATE


def planner_for(services: Services, kind: PlannerKind | None):  # noqa: ANN201 (Planner protocol)
    """The planner of ``kind`` (default: see ``default_planner_kind``)."""
    from planner.templates import TemplatePlanner

    kind = kind or default_planner_kind(services)
    if kind is PlannerKind.LLM:
        return services.llm_planner  # ConfigError when no endpoint is configured
    if kind is PlannerKind.TEMPLATE:
        return TemplatePlanner(services.template_library, max_steps=services.settings.max_steps)
    raise PlanningError(f"{kind.value!r} is not a planner; use llm or template", code="bad_planner")


def _actor(services: Services, user: User | str) -> User:
    # Fail closed: only declared users may create or change plans.
    return services.settings.user_named(user.id if isinstance(user, User) else user)


def plan_goal(services: Services, goal: str, requester: User,
              planner: PlannerKind | None = None) -> StoredVersion:
    """Plan ``goal`` and store version 1; a failed planning is stored INVALID, then raised."""
    user = _actor(services, requester)
    goal = goal.strip()
    if not goal:
        raise UsageError("the goal is empty; describe what you want done", code="empty_goal")
    _refuse_unstorable("goal", goal)
    chosen = planner_for(services, planner)
    kind = planner or default_planner_kind(services)
    try:
        result = chosen.plan(goal, services.registry)
    except PlanningError as exc:
        stored = _store_failure(services, goal, user, kind, exc, plan_id=None, feedback=None)
        raise _noted(services, exc, stored) from None
    return _store_result(services, goal, user, result)


def plan_from_file(services: Services, path: Path | str, requester: User) -> StoredVersion:
    """Store a hand-written plan file; it is validated like any planner's output.

    An invalid plan is stored INVALID with its problems, then InvalidPlanError is raised. A
    file larger than the API takes in a request (``BODY_MAX_BYTES``) is not read: PlanFileError.
    """
    from planner.loading import read_plan_file

    user = _actor(services, requester)
    path = Path(path)
    data, problems = read_plan_file(path, max_bytes=BODY_MAX_BYTES)
    return _store_document(services, data, problems, user,
                           goal=_document_goal(data, f"plan file {path.name}"),
                           note=f"plan file {path}")


def plan_from_document(services: Services, document: Mapping[str, Any] | str | bytes,
                       requester: User, *, filename: str | None = None) -> StoredVersion:
    """Store a plan document given as data, or as JSON/YAML text (format by ``filename``).

    Same rules as ``plan_from_file``: an invalid plan is stored INVALID, then raised.
    """
    from planner.loading import load_plan_document

    user = _actor(services, requester)
    if isinstance(document, Mapping):
        data, problems = dict(document), []
    else:
        data, problems = load_plan_document(document, filename=filename)
    label = f"plan document {filename}" if filename else "submitted plan document"
    return _store_document(services, data, problems, user,
                           goal=_document_goal(data, label), note=label)


def _store_document(services: Services, data: Any, problems: list[Problem], user: User, *,
                    goal: str, note: str) -> StoredVersion:
    """Validate a parsed document and store it: VALIDATED (then vetted) or INVALID and raised."""
    from planner.validation import validate_plan

    report = None if problems else validate_plan(data, services.registry,
                                                 max_steps=services.settings.max_steps)
    problems = list(problems) + (list(report.problems) if report else [])
    trace = PlanningTrace(planner=PlannerKind.FILE, notes=(note,))
    if report is not None and report.ok and report.plan is not None:
        result = PlanResult(plan=report.plan, planner=PlannerKind.FILE, trace=trace)
        return _store_result(services, goal, user, result)
    new = NewVersion(document=storable(data), status=VersionStatus.INVALID,
                     planner=PlannerKind.FILE, problems=tuple(problems), created_by=user.id)
    stored = _store_version(services, goal, user, new, trace, plan_id=None)
    raise _noted(services, InvalidPlanError(list(stored.problems)), stored)  # masked as stored


def _noted(services: Services, exc: PlanningError | InvalidPlanError,
           stored: StoredVersion) -> BatonError:
    """``exc`` with the id of the INVALID version that records it, shown as ``exc.stored``."""
    _mask_error(services, exc)  # as the version records it
    exc.message = f"{exc.message}\n(recorded as plan {stored.plan_id} v{stored.version}, invalid)"
    exc.args = (exc.message,)
    # Lets the CLI and API show the record; a revision's goal may predate a secret.
    exc.stored = shown_version(services, stored)  # type: ignore[union-attr]
    return exc


def _document_goal(data: object, fallback: str) -> str:
    goal = data.get("goal") if isinstance(data, dict) else None
    return storable(goal).strip() if isinstance(goal, str) and goal.strip() else fallback


def revise_plan(services: Services, plan_id: str, feedback: str, actor: User,
                planner: PlannerKind | None = None) -> StoredVersion:
    """Send the latest version, ``feedback`` and any rejection reason to the planner; store v+1."""
    user = _actor(services, actor)
    feedback = feedback.strip()
    if not feedback:
        raise UsageError("the feedback is empty; say what should change", code="empty_feedback")
    _refuse_unstorable("feedback", feedback)
    previous = services.plan_store.get(plan_id)
    reason = rejection_reason(services, plan_id, previous.version)
    # Recorded with the version: what was asked for, the rejection included.
    request = feedback if reason is None else (
        f"{feedback}\n\nThe approver rejected version {previous.version}: {reason}")
    kind = planner or default_planner_kind(services)
    try:
        # Apart: the template planner matches the feedback alone as a goal.
        result = planner_for(services, kind).revise(previous.plan, feedback, services.registry,
                                                    rejection=reason)
    except PlanningError as exc:
        _mask_error(services, exc)
        failed = NewVersion(status=VersionStatus.INVALID, planner=kind,
                            problems=tuple(exc.problems), feedback=request, created_by=user.id,
                            error=exc.message, revises=previous.version)
        _record_failed_revision(services, plan_id, user, failed, exc.trace, exc)
        raise
    # Stored only while the version revised is still the latest (see _add_revision).
    new = NewVersion(plan=result.plan, status=VersionStatus.VALIDATED, planner=result.planner,
                     origin=result.origin, feedback=request, created_by=user.id,
                     revises=previous.version)
    stored = _store_version(services, previous.goal, user, new, result.trace, plan_id=plan_id)
    return _after_new_version(services, stored, user)


def _refuse_unstorable(what: str, text: str) -> None:
    """Refuse text the ledger and the plan store cannot hold, before any planner is asked.

    A lone surrogate (what undecodable command-line bytes become) cannot be encoded as UTF-8
    and a NUL cannot be stored in PostgreSQL: either reached the model, then crashed storing
    the goal, with nothing recorded. (The API refuses both in request bodies already.) A usage
    error, as an empty goal is: the caller must change the text (the CLI exits 2).
    """
    fault = scalar_fault(text)
    if fault is not None:
        raise UsageError(f"the {what} cannot be recorded: {fault}", code="unstorable_text")


def rejection_reason(services: Services, plan_id: str, version: int) -> str | None:
    """The comment of the latest rejection of that version, if an approver rejected it.

    Masked: one stored before a secret was configured may hold its value, and the reason is
    recorded with the revision and shown in its feedback. At most ``REASON_MAX_CHARS``
    characters, what an approver may write: one stored before every way in held to that limit
    (the CLI took any length) is cut, masked first, and marked with how much more there was.
    """
    from tools.redaction import redact

    with Session(services.engine) as session:
        row = session.exec(
            select(ApprovalRow).where(ApprovalRow.plan_id == plan_id,
                                      ApprovalRow.version == version, ApprovalRow.kind == "reject")
            .order_by(col(ApprovalRow.decided_at).desc())
        ).first()
    if row is None:
        return None
    # Bounded by the reason's own limit, not squeezed into FEEDBACK_MAX_CHARS with the feedback:
    # the planner reads the two apart, the feedback whole as its writer was allowed to send it,
    # and the revision records both, so neither grows with what an old record holds.
    return _cut(redact(row.comment, services.secret_values) or "no reason given",
                REASON_MAX_CHARS)


_CUT_MARK = "… [{:,} more characters]"


def _cut(text: str, limit: int) -> str:
    """``text``, or as much of it as fits in ``limit`` characters with the mark saying how
    many more there were."""
    if len(text) <= limit:
        return text
    # Sized for the longest count it can show, so that the text and its mark fit together.
    keep = limit - len(_CUT_MARK.format(len(text)))
    return text[:keep] + _CUT_MARK.format(len(text) - keep)


def shown_version(services: Services, stored: StoredVersion) -> StoredVersion:
    """``stored`` as people and clients may see it: configured secret values and the
    credentials written into its URLs masked.

    A version stored before its secret was configured still holds the value, and one stored
    before URL credentials were masked holds those; the stored bytes and hash stay as they
    are (approvals bind to them), only this view is masked. Never run, approve or re-hash
    what it returns: read the store for that.
    """
    from planner.secret_literals import masked_version
    from planner.url_literals import masked_stored

    return masked_stored(masked_version(stored, services.recognisable_secrets))


# The statuses a version may yet run from, and what a URL's credential there is called.
_MAY_RUN = (VersionStatus.VALIDATED, VersionStatus.PENDING_APPROVAL, VersionStatus.APPROVED)
_URL_HELD = ("a URL in its arguments carries a literal credential in parameter {param} (shown "
             "as ***): the plan would send it, or the mask in its place. Revise it to send the "
             "credential as ${{secret:NAME}} in a header instead")
_USER_INFORMATION_HELD = ("a URL in its arguments carries credentials before the host (shown as "
                          "user:***@host): the plan would send them, or the mask in their "
                          "place. Revise it to send them as ${secret:NAME} in a header instead")


def held_secrets(services: Services, stored: StoredVersion) -> str | None:
    """Where a version holds what must never run, as one line naming each step and path or
    parameter, never the value (None: it holds none): a configured secret's value (stored
    before the secret was configured), or a credential the policy refuses in a URL, its user
    information included.

    Such a version may be shown (masked) but never runs nor becomes a template. A URL's
    credential is stored masked (``***``): a version the policies let through anyway would
    send the mask. One they denied cannot run, and their reasons already say why.
    """
    from planner.secret_literals import held_secrets as find
    from planner.url_literals import holds_user_credentials

    found = [str(problem) for problem in find(stored.plan, services.recognisable_secrets)]
    if stored.status in _MAY_RUN:
        found += [f"step {step.id}: {_URL_HELD.format(param=credential['param'])}"
                  for step in stored.plan.steps for credential in url_credentials(step.args)]
        found += [f"step {step.id}: {_USER_INFORMATION_HELD}" for step in stored.plan.steps
                  if holds_user_credentials(step.args)]
    return "; ".join(dict.fromkeys(found)) or None


def show_plan(services: Services, plan_id: str, version: int | None = None) -> StoredVersion:
    """One stored version (latest when ``version`` is None), as shown."""
    return shown_version(services, services.plan_store.get(plan_id, version))


def plan_versions(services: Services, plan_id: str) -> list[StoredVersion]:
    """Every version of a plan, oldest first, as shown."""
    return [shown_version(services, v) for v in services.plan_store.versions(plan_id)]


def diff_with_previous(services: Services, plan_id: str,
                       version: int | None = None) -> tuple[StoredVersion, StoredVersion, PlanDiff]:
    """The version (latest when None), the one before it, and how they differ; as shown."""
    current = show_plan(services, plan_id, version)
    if current.version == 1:  # said of v1 itself: the plan may have later versions
        raise PlanningError(f"plan {plan_id} v1 is its first version: nothing before it to "
                            "compare with", code="no_previous_version")
    previous = show_plan(services, plan_id, current.version - 1)
    diff = diff_plans(previous.plan, current.plan, a_label=f"{plan_id} v{previous.version}",
                      b_label=f"{plan_id} v{current.version}")
    return previous, current, diff


def list_plans(services: Services, status: VersionStatus | str | None = None,
               limit: int = 50) -> list[StoredVersion]:
    """The latest version of each plan, newest first, as shown."""
    latest = services.plan_store.list_plans(VersionStatus(status) if status else None, limit)
    return [shown_version(services, v) for v in latest]


def _store_result(services: Services, goal: str, user: User, result: PlanResult) -> StoredVersion:
    """Store a planner's plan as a new plan's version 1, then have policy decide it."""
    new = NewVersion(plan=result.plan, status=VersionStatus.VALIDATED, planner=result.planner,
                     origin=result.origin, created_by=user.id)
    stored = _store_version(services, goal, user, new, result.trace, plan_id=None)
    if stored.status is VersionStatus.INVALID:  # a secret's value or the mask mark: never vetted
        raise _noted(services, InvalidPlanError(list(stored.problems)), stored)
    return _after_new_version(services, stored, user)


def _store_failure(services: Services, goal: str, user: User, kind: PlannerKind,
                   exc: PlanningError, *, plan_id: str | None,
                   feedback: str | None) -> StoredVersion:
    new = NewVersion(status=VersionStatus.INVALID, planner=kind, problems=tuple(exc.problems),
                     feedback=feedback, created_by=user.id, error=exc.message)
    trace = exc.trace or PlanningTrace(planner=kind)
    return _store_version(services, goal, user, new, trace, plan_id=plan_id)


def _store_version(services: Services, goal: str, user: User, new: NewVersion,
                   trace: PlanningTrace, *, plan_id: str | None) -> StoredVersion:
    """Store one version and record it: GOAL (new plans), LLM exchanges, PLAN_VERSION, VALIDATION,
    all in one transaction: when any of them fails, nothing is stored.

    Configured secret values never reach the store: a version holding one is stored
    INVALID with it masked, and the goal, feedback and template parameters are stored
    masked. So is a version whose arguments hold the mask mark (copied from a masked view,
    or by the planner).
    """
    from planner.url_literals import masked_value

    goal, new = _without_secrets(services, goal, new)
    goal, new = without_url_literals(goal, new, trace)
    new = _without_masked_marks(new)

    def record(session: Session, stored: StoredVersion) -> None:
        # In the version's own transaction: a version stored without its events (a failure,
        # a kill between two commits) would be vetted, approved and run unrecorded.
        if plan_id is None:
            services.ledger.append(EventKind.GOAL, stored.plan_id, user.id,
                                   {"goal": goal, "planner": new.planner.value}, session=session)
        _record_trace(services, stored.plan_id, user, trace, session=session)
        services.ledger.append(EventKind.PLAN_VERSION, stored.plan_id, user.id, {
            "version": stored.version, "revises": new.revises, "plan_hash": stored.plan_hash,
            "planner": stored.planner.value,
            "origin": stored.origin.model_dump(mode="json") if stored.origin else None,
            "status": stored.status.value, "feedback": stored.feedback,
            "notes": [masked_value(note) for note in trace.notes],
        }, session=session)
        services.ledger.append(EventKind.VALIDATION, stored.plan_id, user.id, {
            "version": stored.version, "ok": stored.status is not VersionStatus.INVALID,
            "problems": [p.model_dump(mode="json") for p in stored.problems],
            "error": stored.error,
        }, session=session)

    if plan_id is None:
        return services.plan_store.create_plan(goal, user.id, new, record=record)
    return _add_revision(services, plan_id, user, new, trace, record)


def _without_secrets(services: Services, goal: str, new: NewVersion) -> tuple[str, NewVersion]:
    """``goal`` and ``new`` with configured secret values masked; a plan holding one is INVALID."""
    from planner.secret_literals import configured_secret_problems
    from tools.redaction import redact

    secrets = services.recognisable_secrets
    if not secrets:
        return goal, new
    document = new.plan.model_dump(mode="json") if new.plan is not None else new.document
    found, masked = configured_secret_problems(document, secrets)
    update: dict[str, Any] = {
        "feedback": redact(new.feedback, secrets), "error": redact(new.error, secrets),
        # Template parameters are the goal's words, stored masked like it. The template
        # check instantiates from them, so a masked value the steps need never passes it.
        "origin": _masked_origin(new.origin, secrets),
        # A validation message can quote the document ("unknown tool 'x…'").
        "problems": _masked_problems(new.problems, secrets)}
    if found:
        update.update(plan=None, document=masked, status=VersionStatus.INVALID,
                      problems=(*update["problems"], *found))
    return redact(goal, secrets), new.model_copy(update=update)


def _mask_error(services: Services, exc: PlanningError | InvalidPlanError) -> None:
    """Mask configured secret values and URL credentials in ``exc``'s message and problems, in
    place: a planner's message can quote the goal or the feedback ("source: '/x' does not
    match ...")."""
    from planner.url_literals import masked_value
    from tools.redaction import redact

    secrets = services.recognisable_secrets
    exc.message = masked_value(redact(exc.message, secrets))
    exc.args = (exc.message,)
    exc.problems = list(url_masked_problems(_masked_problems(exc.problems, secrets)))


def _masked_origin(origin: TemplateOrigin | None, secrets: Mapping[str, str | None]
                   ) -> TemplateOrigin | None:
    """``origin`` with configured secret values masked in its parameters (keys included)."""
    from tools.redaction import redact

    if origin is None:
        return None
    return TemplateOrigin.model_validate(redact(origin.model_dump(mode="json"), secrets))


def _without_masked_marks(new: NewVersion) -> NewVersion:
    """``new``, INVALID when an argument holds ``[REDACTED]``: a tool would get the mark."""
    from planner.secret_literals import masked_mark_problems

    found = masked_mark_problems(new.plan) if new.plan is not None else ()
    if not found:
        return new
    return new.model_copy(update={"status": VersionStatus.INVALID,
                                  "problems": (*new.problems, *found)})


def _add_revision(services: Services, plan_id: str, user: User, new: NewVersion,
                  trace: PlanningTrace, record: VersionRecorder) -> StoredVersion:
    """Store a revision (``new``, masked) as the next version, if it is usable and the version
    it revises is still the latest, with what ``record`` writes in its transaction; otherwise
    store nothing, record it as a failed revision, and raise: InvalidPlanError (a secret's
    value, the mask mark) or PlanChangedError.

    An unusable version stored would supersede the approved one it revises; one stored on a
    version no longer the latest would drop the change of the revision stored meanwhile.
    """
    failure: InvalidPlanError | PlanChangedError
    if new.status is VersionStatus.INVALID:
        failure = InvalidPlanError(list(new.problems))
    else:
        try:
            return services.plan_store.add_version(plan_id, new, record=record)
        except PlanChangedError as exc:
            failure = exc
    _record_failed_revision(services, plan_id, user, new.model_copy(update={
        "error": failure.message}), trace, failure)
    raise failure


def _record_failed_revision(services: Services, plan_id: str, user: User, new: NewVersion,
                            trace: PlanningTrace | None, exc: BatonError) -> None:
    """Record a revision that gave no version (``new``: what it would have stored, its error
    and problems masked): its model exchanges and a failed VALIDATION event; note in ``exc``'s
    message where it is recorded and which version stays the latest.

    No version is stored (the latest one stays current), but the feedback, the error, the
    problems and the refused plan are kept in the ledger, so that nothing the analyst asked
    for, nor what the planner answered, is lost.
    """
    _, new = without_url_literals("", new, trace)  # a failed planning's feedback is not masked yet
    document = new.plan.model_dump(mode="json") if new.plan is not None else new.document
    with Session(services.engine) as session:  # the exchanges with their outcome, or neither
        _record_trace(services, plan_id, user, trace, session=session)
        services.ledger.append(EventKind.VALIDATION, plan_id, user.id, {
            "version": None, "revision_of": new.revises, "planner": new.planner.value,
            "ok": False, "feedback": new.feedback,
            "problems": [p.model_dump(mode="json") for p in new.problems],
            "error": new.error, "document": document,
            "origin": new.origin.model_dump(mode="json") if new.origin else None,
        }, session=session)
        session.commit()
    # Read now: another revision may have been stored while this one was planned.
    latest = services.plan_store.get(plan_id).version
    exc.message = (f"{exc.message}\n(the feedback is recorded in the ledger of plan "
                   f"{plan_id}; v{latest} stays the latest version)")
    exc.args = (exc.message,)


def _record_trace(services: Services, plan_id: str, user: User,
                  trace: PlanningTrace | None, *, session: Session) -> None:
    # The ledger masks configured secret values; the exchanges never hold the key. The
    # messages sent hold no URL's credential (the client masks them); a reply could, written
    # so that only its decoding shows it ("https:\/\/…?token=…"): masked_reply reads it as
    # the planner does.
    from planner.url_literals import masked_reply, masked_value

    for exchange in (trace.exchanges if trace else ()):
        recorded = exchange.model_dump(mode="json")
        services.ledger.append(EventKind.LLM_EXCHANGE, plan_id, user.id, {
            key: masked_reply(value) if key == "reply" and isinstance(value, str)
            else masked_value(value) for key, value in recorded.items()}, session=session)


def _after_new_version(services: Services, stored: StoredVersion, user: User) -> StoredVersion:
    """Hook: a new valid version has just been stored: policy decides it and sets its status."""
    from .deciding import vet_version

    vet_version(services, stored)
    return show_plan(services, stored.plan_id, stored.version)
