"""Pages over the use cases: queue, goal form, plan page and its controls, run and ledger pages."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from structlog import get_logger

from baton.api.auth import role_table_of, services_of
from baton.api.database_failures import caller_message
from baton.api.errors import ApiError
from baton.api.permissions import Action, RoleTable
from baton.api.verify_guard import VerifyRefused, verify_guard_of
from baton.services import Services
from baton.settings import User
from executor.errors import BrokenEventError
from planner.base import MAX_VERSION
from planner.plan import Step
from planner.problems import printable
from planner.versions import StoredVersion, VersionStatus
from policies.approval import GateState, GateStatus
from tools import BatonError

from .chain import WindowCheck, check_window
from .graph import layout, render_args
from .pages import FormError, form_text, read_form, redirect, render, require_role
from .session import SignInRequired, signed_in_user
from .shown import shown_lines, visible_json

if TYPE_CHECKING:
    from baton.usecases.plan_listing import ListedPlan
    from executor.ledger import Ledger, LedgerEvent, VerifyResult
    from executor.records import StepRecord

router = APIRouter(include_in_schema=False)
log = get_logger(__name__)

RECENT_PLANS = 30  # the queue page's "Recent plans" list
QUEUE_LIMIT = 1000  # waiting plans read for the queue; past it the page says more wait
PLAN_RUNS = 200  # runs listed on a plan's page


@dataclass(frozen=True)
class StepRow:
    """One row of the plan's step table."""

    step: Step
    effect: str
    args: Markup
    depends: tuple[str, ...]


def step_rows(services: Services, stored: StoredVersion) -> list[StepRow]:
    """The table rows: tool, effect (from the registry), arguments with reference links, why."""
    rows = []
    for step in stored.plan.steps:
        try:
            effect = services.registry.get(step.tool).effect_of(step.args).value
        except Exception as exc:  # noqa: BLE001 - an unknown tool or odd args: show '?' rather than fail
            log.warning("step effect unknown", plan_id=stored.plan_id, version=stored.version,
                        step_id=step.id, error=str(exc))
            effect = "?"
        rows.append(StepRow(step=step, effect=effect, args=render_args(step.args),
                            depends=step.dependencies()))
    return rows


def _allowed(request: Request, action: Action) -> User:
    """The signed-in user, refused unless a role grants ``action``."""
    user = signed_in_user(request)
    require_role(request, user, action)
    return user


async def _posted(request: Request, action: Action) -> tuple[User, dict[str, str]]:
    """The signed-in user and their form (CSRF checked), refused unless allowed ``action``.

    The checks run in a thread, as a sync page's do: the settings file may be read again.
    A form's use case runs in one too (``run_in_threadpool``): planning, a policy decision
    (perhaps OPA over HTTP) and the database take seconds, and on the event loop they held
    every other request of the server (its health check included) until they were done.
    """
    user = await run_in_threadpool(signed_in_user, request)
    form = await read_form(request)
    await run_in_threadpool(require_role, request, user, action)
    return user, form


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The signed-in user's queue, the goal form (analysts) and recent plans."""
    from baton.usecases.plan_listing import WaitingPage, listed_plans, waiting_page

    user = signed_in_user(request)
    try:
        require_role(request, user, Action.PLAN_READ)
    except FormError as exc:
        # Signed in without a role: refuse like the other pages, but keep the sign-out button.
        return render(request, "error.html", user, status=exc.status, title="No access",
                      message=exc.message)
    services = services_of(request)
    # The queue reads the waiting plans themselves: read from the recent ones, a plan
    # waiting behind RECENT_PLANS newer ones would drop out of every approver's queue.
    # Those include approved versions whose approvals lapsed (unless they ran to success):
    # they cannot run until approved again, and would otherwise wait for nobody. The page
    # holds QUEUE_LIMIT that wait, and says more wait only when more do.
    table = role_table_of(request)
    waiting = (waiting_page(services, QUEUE_LIMIT) if table.may(user, Action.PLAN_APPROVE)
               else WaitingPage(listed=(), more=False))
    queue = approval_queue(services, [entry.version for entry in waiting.listed], user, table)
    return render(request, "index.html", user, waiting=queue, more_waiting=waiting.more,
                  queue_limit=QUEUE_LIMIT, mine=listed_plans(services, None, RECENT_PLANS))


# Stored statuses a version may wait for approval in (an approved one: when its approvals lapsed).
_AWAITING = frozenset({VersionStatus.PENDING_APPROVAL, VersionStatus.APPROVED})


def approval_queue(services: Services, plans: list[StoredVersion], user: User,
                   table: RoleTable) -> list[ListedPlan]:
    """The ``plans`` that wait for ``user``'s approval (eligible, not the requester, wrote no
    version), an approved one whose approvals lapsed marked why; their authors, decisions
    and approvals are read in a few queries for them all."""
    from baton.usecases.gates import gate_views
    from baton.usecases.plan_listing import ListedPlan

    if not table.may(user, Action.PLAN_APPROVE):
        return []  # never offered approval: spare the gate's reads
    candidates = [s for s in plans if s.status in _AWAITING and s.requester != user.id]
    authors = services.plan_store.authors_of([s.plan_id for s in candidates])
    # An author is refused whatever the gate says.
    candidates = [s for s in candidates if user.id not in authors[s.plan_id]]
    views = gate_views(services, candidates, authors)
    return [ListedPlan(version=s, approval_lapsed=views[(s.plan_id, s.version)].approval_lapsed)
            for s in candidates
            if can_approve(s, views[(s.plan_id, s.version)].gate, user, authors[s.plan_id])]



@router.post("/plans")
async def submit_goal(request: Request) -> Response:
    """The goal form: plan it as the signed-in analyst."""
    user, form = await _posted(request, Action.PLAN_CREATE)
    return await run_in_threadpool(_planned, request, user, form)


def _planned(request: Request, user: User, form: dict[str, str]) -> Response:
    from baton.usecases.plans import plan_goal

    try:
        stored = plan_goal(services_of(request), form_text(form, "goal"), user)
    except BatonError as exc:
        return redirect(request, "/", caller_message(exc, request), "error")
    return redirect(request, f"/plans/{stored.plan_id}",
                    f"Planned as {stored.plan_id} v{stored.version}.")


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(request: Request, plan_id: str, version: int | None = None) -> HTMLResponse:
    """A plan version: graph, steps, policy, diff, history and the approval controls."""
    from baton.usecases.approval_records import approval_history
    from baton.usecases.deciding import decision_for, stale_decision
    from baton.usecases.gates import gate_state
    from baton.usecases.plans import diff_with_previous, plan_versions

    user = _allowed(request, Action.PLAN_READ)
    services = services_of(request)
    table = role_table_of(request)
    versions = plan_versions(services, plan_id)
    stored = versions[-1] if version is None else next(
        (v for v in versions if v.version == version), None)
    if stored is None:
        return render(request, "error.html", user, status=404, title="Not found",
                      message=f"plan {plan_id} has no version {version}")
    diff = diff_with_previous(services, plan_id, stored.version)[2] if stored.version > 1 else None
    decided = decision_for(services, plan_id, stored.version)
    gate = gate_state(services, plan_id, stored.version)
    history = approval_history(services, plan_id)
    return render(request, "plan.html", user, stored=stored, versions=versions,
                  graph=layout(stored.plan), rows=step_rows(services, stored), diff=diff,
                  latest=stored.version == versions[-1].version,
                  decision=decided.decision if decided else None, gate=gate, history=history,
                  decision_stale=stale_decision(services, plan_id, stored.version),
                  runs=runs_of(services, plan_id),
                  can_approve=(table.may(user, Action.PLAN_APPROVE)
                               and can_approve(stored, gate, user,
                                               services.plan_store.authors(plan_id))),
                  # The gate, not the stored status: an approval that expired, or whose
                  # approver lost the role, leaves the version approved but unable to run;
                  # one pending whose approvals count again (an approver has the role back)
                  # is approved when the run starts (gates.require_approved).
                  can_run=(stored.status in _AWAITING
                           and gate.status is GateStatus.APPROVED
                           and table.may(user, Action.RUN_START)))


def can_approve(stored: StoredVersion, gate: GateState, user: User,
                authors: Collection[str]) -> bool:
    """Whether to offer approve/reject: the version waits, and the user may be one of its
    approvers as far as the gate goes (the caller asks the role table for ``plan.approve``).

    A version waits while it is pending approval (unless the approvals that count now
    complete its gate: an approver has the role back, and it runs), or approved with a gate
    back to pending (an approval expired, or its approver lost the role): it cannot run until
    approved again.
    ``authors`` are everyone who wrote any version of the plan (``PlanStore.authors``): the
    gate refuses them all, not only the latest version's author. Only an offer: the use
    case still decides (and refuses self-approval, wrong roles...).
    """
    waits = ((stored.status is VersionStatus.PENDING_APPROVAL
              and gate.status is not GateStatus.APPROVED)
             or (stored.status is VersionStatus.APPROVED and gate.status is GateStatus.PENDING))
    return (waits
            and user.id != stored.requester and user.id not in authors  # nobody signs off their own
            and (not gate.eligible_roles or bool(set(user.roles) & set(gate.eligible_roles)))
            and user.id not in {a.actor for a in gate.valid_approvals})


def runs_of(services: Services, plan_id: str) -> list:
    """The plan's recent runs, newest first (read by plan: other plans' runs never crowd them out)."""
    from baton.usecases.runs import list_runs

    return list_runs(services, limit=PLAN_RUNS, plan_id=plan_id)


@router.post("/plans/{plan_id}/run")
async def start_run_form(request: Request, plan_id: str) -> Response:
    """Start a run of the approved version shown; the server's worker executes it."""
    user, form = await _posted(request, Action.RUN_START)
    return await run_in_threadpool(_started, request, plan_id, user, form)


def _started(request: Request, plan_id: str, user: User, form: dict[str, str]) -> Response:
    from baton.usecases.runs import start_run

    try:
        record = start_run(services_of(request), plan_id, user, version=_version(form),
                           detach=True)
    except BatonError as exc:
        return redirect(request, f"/plans/{plan_id}", caller_message(exc, request), "error")
    request.app.state.worker.kick()
    return redirect(request, f"/runs/{record.id}")


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    """Recent runs."""
    from baton.usecases.runs import list_runs

    user = _allowed(request, Action.RUN_READ)
    return render(request, "runs.html", user, runs=list_runs(services_of(request), limit=100))


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> HTMLResponse:
    """A run: step states (updated live by the page's script), outputs and events."""
    from baton.usecases.ledger import read_events
    from baton.usecases.plans import show_plan
    from baton.usecases.runs import show_run

    user = _allowed(request, Action.RUN_READ)
    services = services_of(request)
    record = show_run(services, run_id)
    stored = show_plan(services, record.plan_id, record.version)
    return render(request, "run.html", user, run=record, stored=stored, graph=layout(stored.plan),
                  # By position: masked step ids (a secret's value) may be alike.
                  outputs=[_shown(s.output) for s in record.steps],
                  events=read_events(services, subject=run_id, limit=None))


@router.get("/runs/{run_id}/state")
def run_state(request: Request, run_id: str) -> dict:
    """The run's status and step states as JSON, for the page's script (cookie auth); its
    texts as the page shows them (``printable``), since the script writes them as they are."""
    from baton.usecases.runs import show_run

    _allowed(request, Action.RUN_READ)
    services = services_of(request)
    record = show_run(services, run_id)
    # Read after the status: a finished run's end is already in the ledger, so a page that
    # has shown the event at last_seq has shown everything it ever will.
    last = services.ledger.latest(subject=run_id, limit=1)
    return {"status": record.status.value, "finished": record.status.finished,
            "last_seq": last[0].seq if last else 0, "error": _printable(record.error),
            "steps": [_step_state(run_id, index, step)
                      for index, step in enumerate(record.steps)]}


def _step_state(run_id: str, index: int, step: StepRecord) -> dict:
    """One step of ``run_state``: a long output cut as the page shows it, said to be, with
    where the whole is; an output stored as an artifact by its URI."""
    shown = _shown(step.output)
    return {"step_id": step.step_id, "status": step.status.value, "attempts": step.attempts,
            "error": _printable(step.error), "output": shown.text, "output_cut": shown.cut,
            "output_chars": shown.chars, "output_uri": _printable(step.output_uri),
            "full_output": _full_output_url(run_id, index) if shown.text is not None else None}


def _printable(text: str | None) -> str | None:
    return None if text is None else printable(text)


def _full_output_url(run_id: str, index: int) -> str:
    from urllib.parse import quote

    return f"/runs/{quote(run_id, safe='')}/steps/{index}/output"


@router.get("/runs/{run_id}/steps/{index}/output")
def step_output(request: Request, run_id: str, index: int) -> Response:
    """One step's whole output as JSON (by position: shown step ids may be masked alike), for
    the link beside an output the run page shows cut (cookie auth); a browser shows it, so
    control and format characters are written as JSON escapes (``visible_json``)."""
    from baton.usecases.runs import show_run

    user = _allowed(request, Action.RUN_READ)
    record = show_run(services_of(request), run_id)
    step = record.steps[index] if 0 <= index < len(record.steps) else None
    if step is None or step.output is None:
        why = ("it is stored as an artifact, " + step.output_uri if step and step.output_uri
               else "it has no output stored")
        return render(request, "error.html", user, status=404, title="Not found",
                      message=f"run {run_id} has no output at step {index}: {why}")
    return Response(visible_json(step.output), media_type="application/json")


@router.get("/runs/{run_id}/events")
def run_events(request: Request, run_id: str) -> Response:
    """The run's events as server-sent events (cookie auth; same stream as the API's)."""
    from baton.api.routes_runs import event_stream
    from baton.usecases.runs import show_run

    _allowed(request, Action.RUN_READ)
    services = services_of(request)
    show_run(services, run_id)
    return event_stream(services, run_id, request,
                        lambda: _still_allowed(request, Action.RUN_READ))


def _still_allowed(request: Request, action: Action) -> bool:
    """Whether the session's token is still valid and grants ``action``, as the settings file
    says now (False while it no longer loads): checked again as a long stream goes on."""
    try:
        _allowed(request, action)
    except (SignInRequired, FormError, ApiError):
        return False
    return True


@router.get("/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, subject: str | None = None) -> HTMLResponse:
    """Ledger events, for one plan or run when ``subject`` is given, and their check."""
    user = _allowed(request, Action.LEDGER_READ)
    return ledger_view(request, user, subject)


@router.post("/ledger/verify", response_class=HTMLResponse)
async def verify_ledger_form(request: Request) -> HTMLResponse:
    """Recompute the whole chain now, like ``baton audit verify``, and show the result."""
    user, form = await _posted(request, Action.LEDGER_READ)
    try:
        # The API's guard: one whole-ledger read at a time, a cooldown per user.
        with verify_guard_of(request).running(user.id):
            # Seconds on a long ledger: off the event loop, so other requests are still served.
            full = await run_in_threadpool(services_of(request).ledger.verify)
    except VerifyRefused as exc:
        return await run_in_threadpool(refused_view, request, user, form.get("subject"), exc)
    return await run_in_threadpool(ledger_view, request, user, form.get("subject"), full)


def refused_view(request: Request, user: User, subject: str | None,
                 refused: VerifyRefused) -> HTMLResponse:
    """The ledger page, status 429: why the whole ledger was not verified, and for how long."""
    page = ledger_view(request, user, subject, status=429, flash=refused.message,
                       flash_kind="error")
    page.headers["Retry-After"] = str(refused.retry_after_s)
    return page


LEDGER_PAGE_EVENTS = 500


def ledger_view(request: Request, user: User, subject: str | None,
                full: VerifyResult | None = None, *, status: int = 200,
                **notice: str) -> HTMLResponse:
    """The ledger page: the newest events (of ``subject``), their check, and ``full`` when run.

    ``notice`` (``flash`` and ``flash_kind``) replaces the page's usual one-line message.
    """
    from baton.usecases.ledger import shown_events

    services = services_of(request)
    subject = (subject or "").strip()[:80] or None
    try:
        events, older = newest_events(services.ledger, subject)
        # Checked as stored (the hashes cover those payloads), then shown masked.
        window = check_window(events, consecutive=subject is None)
        events = shown_events(services, events)
    except BrokenEventError as exc:  # a shown row cannot be read back: say so, keep the button
        events, older = [], 0
        window = WindowCheck(ok=False, events=0, linked=subject is None,
                             first_broken_seq=exc.seq, reason=f"event {exc.seq}: {exc.reason}")
    return render(request, "ledger.html", user, status, events=events, subject=subject,
                  older=older, shown_limit=LEDGER_PAGE_EVENTS, window=window, full=full, **notice)


def newest_events(ledger: Ledger, subject: str | None) -> tuple[list[LedgerEvent], int]:
    """The newest ``LEDGER_PAGE_EVENTS`` events (oldest first) and how many older ones exist."""
    if subject is None:
        # Sequence numbers run 1..head without gaps: start the read just before the newest page.
        head = ledger.head()
        after = max(0, head[0] - LEDGER_PAGE_EVENTS) if head else 0
        return ledger.events(after_seq=after), after
    newest: deque[LedgerEvent] = deque(maxlen=LEDGER_PAGE_EVENTS)
    total = 0
    for event in ledger.iter_events(subject=subject):
        newest.append(event)
        total += 1
    return list(newest), total - len(newest)


# Of an output's JSON, the most the run page (and the state its script reads) shows: a
# longer one is shown cut, said to be, with a link to the whole (``step_output``).
OUTPUT_SHOWN_CHARS = 20_000


@dataclass(frozen=True)
class ShownOutput:
    """A step's output as the run page shows it: its JSON with each line as ``printable``
    writes it, cut to ``OUTPUT_SHOWN_CHARS``."""

    text: str | None
    """The JSON shown (None: no output stored inline)."""
    chars: int
    """How long the whole JSON is, as shown."""

    @property
    def cut(self) -> bool:
        """Whether ``text`` is only the start of the output."""
        return self.text is not None and len(self.text) < self.chars


def _shown(value: object) -> ShownOutput:
    whole = _pretty(value)
    if whole is None:
        return ShownOutput(text=None, chars=0)
    return ShownOutput(text=whole[:OUTPUT_SHOWN_CHARS], chars=len(whole))


def _pretty(value: object) -> str | None:
    import json

    return None if value is None else shown_lines(json.dumps(value, indent=2, ensure_ascii=False))


@router.post("/plans/{plan_id}/approve")
async def approve_form(request: Request, plan_id: str) -> Response:
    """Approve the version shown, through the same use case as the API and the CLI."""
    user, form = await _posted(request, Action.PLAN_APPROVE)
    return await run_in_threadpool(_approved, request, plan_id, user, form)


def _approved(request: Request, plan_id: str, user: User, form: dict[str, str]) -> Response:
    from baton.usecases.approving import approve

    try:
        state = approve(services_of(request), plan_id, user, version=_version(form),
                        plan_hash=_pinned(form), comment=form_text(form, "comment") or None)
    except BatonError as exc:
        return redirect(request, f"/plans/{plan_id}", caller_message(exc, request), "error")
    note = ("Approved: the plan may run." if state.status.value == "approved"
            else f"Approval recorded; {state.missing_count} more needed.")
    return redirect(request, f"/plans/{plan_id}", note)


@router.post("/plans/{plan_id}/reject")
async def reject_form(request: Request, plan_id: str) -> Response:
    """Reject the version shown, with the reason given."""
    user, form = await _posted(request, Action.PLAN_REJECT)
    return await run_in_threadpool(_rejected, request, plan_id, user, form)


def _rejected(request: Request, plan_id: str, user: User, form: dict[str, str]) -> Response:
    from baton.usecases.approving import reject

    try:
        reject(services_of(request), plan_id, user, reason=form_text(form, "reason"),
               version=_version(form), plan_hash=_pinned(form))
    except BatonError as exc:
        return redirect(request, f"/plans/{plan_id}", caller_message(exc, request), "error")
    return redirect(request, f"/plans/{plan_id}", "Rejected; the requester can ask for a revision.")


def _pinned(form: dict[str, str]) -> str | None:
    """The plan hash the page showed (its forms carry it hidden): the version reviewed."""
    return (form.get("plan_hash") or "").strip() or None


def _version(form: dict[str, str]) -> int | None:
    """The form's version number; None (the latest) only when the field is missing or empty.

    Anything else that is not a version number (1 to MAX_VERSION, like the API) is refused:
    read as "the latest", a malformed one would act on a version nobody chose.
    """
    value = (form.get("version") or "").strip()
    if not value:
        return None
    # ASCII digits only, length bounded before int(): '²' and a huge number never reach it.
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else 0
    if not 1 <= number <= MAX_VERSION:
        raise FormError(f"version: must be a whole number from 1 to {MAX_VERSION}", status=422)
    return number


@router.post("/plans/{plan_id}/revise")
async def request_revision(request: Request, plan_id: str) -> Response:
    """Ask the planner for a new version with the given feedback."""
    user, form = await _posted(request, Action.PLAN_REVISE)
    return await run_in_threadpool(_revised, request, plan_id, user, form)


def _revised(request: Request, plan_id: str, user: User, form: dict[str, str]) -> Response:
    from baton.usecases.plans import revise_plan

    try:
        stored = revise_plan(services_of(request), plan_id, form_text(form, "feedback"), user)
    except BatonError as exc:
        return redirect(request, f"/plans/{plan_id}", caller_message(exc, request), "error")
    return redirect(request, f"/plans/{plan_id}", f"Version {stored.version} created.")
