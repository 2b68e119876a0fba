"""Run routes: start an approved plan, list and show runs, cancel, and a live event stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from baton.services import Services
from baton.settings import User
from executor.errors import BrokenEventError
from executor.ledger import EventKind, LedgerEvent
from executor.records import RunRecord
from planner.base import MAX_VERSION

from .auth import authenticate, require, role_table_of, services_of
from .errors import ApiError, error_responses, token_route_errors
from .permissions import Action
from .plain_json import json_bytes, json_response

router = APIRouter(tags=["runs"], responses=token_route_errors())

POLL_S = 0.25
HEARTBEAT_S = 15.0


class StartRunRequest(BaseModel):
    """Which approved plan version to run."""

    model_config = ConfigDict(extra="forbid")

    plan_id: str = Field(min_length=1, max_length=40, description="Plan id.")
    version: StrictInt | None = Field(default=None, ge=1, le=MAX_VERSION,
                                description="Version; default: the latest.")
    concurrency: StrictInt | None = Field(default=None, ge=1, le=256,
                                    description="Steps at once; default: from settings.")


@router.post("/runs", response_model=RunRecord, status_code=202, summary="Start a run",
             responses=error_responses(400, 404, 409, 413, 422))
def start(body: StartRunRequest, request: Request,
          user: User = Depends(require(Action.RUN_START))) -> Response:
    """Queue a run of an approved version (the approval is checked now); the server runs it."""
    from baton.usecases.runs import start_run

    record = start_run(services_of(request), body.plan_id, user, version=body.version,
                       concurrency=body.concurrency, detach=True)
    request.app.state.worker.kick()
    return json_response(record, status_code=202)


@router.get("/runs", response_model=list[RunRecord], summary="List runs")
def runs(request: Request,
         limit: int = Query(default=50, ge=1, le=500, description="At most this many runs."),
         user: User = Depends(require(Action.RUN_READ))) -> Response:
    """Most recent runs first (without step detail)."""
    from baton.usecases.runs import list_runs

    return json_response(list_runs(services_of(request), limit=limit))


@router.get("/runs/{run_id}", response_model=RunRecord, summary="Show a run",
            responses=error_responses(404))
def run(run_id: str, request: Request,
        user: User = Depends(require(Action.RUN_READ))) -> Response:
    """One run with its steps, outputs and attempts."""
    from baton.usecases.runs import show_run

    return json_response(show_run(services_of(request), run_id))


@router.post("/runs/{run_id}/cancel", response_model=RunRecord, summary="Cancel a run",
             responses=error_responses(404, 409))
def cancel(run_id: str, request: Request,
           user: User = Depends(require(Action.RUN_CANCEL))) -> Response:
    """Ask the run to stop: no new steps start; it ends cancelled."""
    from baton.usecases.runs import cancel_run

    return json_response(cancel_run(services_of(request), run_id, user))


@router.get(
    "/runs/{run_id}/events", summary="Stream a run's events", response_class=StreamingResponse,
    responses={200: {"description": "Server-sent events: one `event: <kind>` with the ledger "
                     "event as JSON `data` per event, until the run ends, or until the "
                     "server shuts down (a last `event: server_stopping`; reconnect with "
                     "`Last-Event-ID` to follow the run on), or until a broken ledger event "
                     "is read (a last `event: error`, `data` `{\"code\": \"ledger_broken\", "
                     "\"message\": ...}`).",
                     "content": {"text/event-stream": {"schema": {"type": "string"}}}},
               **error_responses(404), **error_responses(409, described={
                   409: "A ledger event of the run (after Last-Event-ID) is broken: "
                        "tampered with or damaged (ledger_broken)"})},
)
def events(run_id: str, request: Request,
           user: User = Depends(require(Action.RUN_READ))) -> StreamingResponse:
    """The run's ledger events as server-sent events, live, until the run ends (or the server
    shuts down)."""
    from baton.usecases.runs import show_run

    services = services_of(request)
    show_run(services, run_id)  # 404 before the stream starts
    return event_stream(services, run_id, request, lambda: _bearer_may_read(request))


def _bearer_may_read(request: Request) -> bool:
    """Whether the request's bearer token is still valid and its user may read runs, as the
    settings file says now (False while the file no longer loads)."""
    try:
        user = authenticate(services_of(request), request.headers.get("authorization"))
    except ApiError:
        return False
    return role_table_of(request).may(user, Action.RUN_READ)


def event_stream(services: Services, run_id: str, request: Request,
                 still_allowed: Callable[[], bool]) -> StreamingResponse:
    """A ``text/event-stream`` response of ``run_id``'s events (shared with the web page),
    for as long as ``still_allowed`` says the caller may read them.

    The events recorded so far (after ``Last-Event-ID``) are read before the answer starts:
    a broken one among them is ``BrokenEventError``, a 409 ``ledger_broken``. Found in the
    stream, it was a 200 cut off, which an EventSource reconnects to for ever; a 409 it
    does not reconnect to.
    """
    after = _last_event_id(request.headers.get("last-event-id"))
    first = services.ledger.events(subject=run_id, after_seq=after)
    return StreamingResponse(sse_events(services, run_id, request, still_allowed, first, after),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def sse_message(event: LedgerEvent) -> str:
    """One ledger event (as shown: see ``baton.usecases.ledger``) as a server-sent event."""
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {json_bytes(event).decode()}\n\n"


async def sse_events(services: Services, run_id: str, request: Request,
                     still_allowed: Callable[[], bool], first: list[LedgerEvent],
                     last: int) -> AsyncIterator[str]:
    """Send ``first`` (the events after ``last``, read as the stream opened), then poll the
    ledger for the run's new events; stop after its end, when the client leaves, when
    ``still_allowed`` no longer holds, with a last ``error`` event at a broken ledger event,
    or, once the events recorded so far are sent, with a last ``server_stopping`` event when
    the server shuts down (an open stream would otherwise hold the server's shutdown until
    the run ends).

    The caller was let in once, when the stream opened; a run may go on for hours. Its
    token is checked again before each poll, as a new request would be (the settings file
    as it is now: a revoked token, a role removed or a file that no longer loads ends it).
    """
    try:
        async for message in _polled_events(services, run_id, request, still_allowed,
                                            first, last):
            yield message
    except BrokenEventError as exc:
        # The answer has started: the client learns why from a last event, not from a cut
        # connection. Not a bug of the server: a warning, without a traceback.
        structlog.get_logger("baton.api").warning(
            "run event stream stopped: ledger event broken", run_id=run_id, seq=exc.seq,
            code=exc.code, error=exc.message)
        yield stream_error_message(exc.code, exc.message)


async def _polled_events(services: Services, run_id: str, request: Request,
                         still_allowed: Callable[[], bool], first: list[LedgerEvent] | None,
                         last: int) -> AsyncIterator[str]:
    """The messages of :func:`sse_events` but its last ``error``; ``BrokenEventError`` there."""
    from baton.usecases.ledger import shown_event
    from baton.usecases.runs import show_run

    quiet, ended = 0.0, False
    while not await request.is_disconnected():
        if not await asyncio.to_thread(still_allowed):
            return
        stopping = _server_stopping(request)  # before the poll: it sends all until now
        batch = first if first is not None else await asyncio.to_thread(
            services.ledger.events, subject=run_id, after_seq=last)
        first = None
        for event in batch:
            last = event.seq
            if event.kind in LIFECYCLE:
                ended = event.kind == EventKind.RUN_END.value
            yield sse_message(shown_event(services, event))
        # The end of the run, not of an earlier try: a failed run that was resumed has
        # a RUN_END, then a RUN_RESUME, in its history.
        if ended:
            return
        if stopping:
            yield server_stopping_message(run_id)
            return
        if not batch:
            record = await asyncio.to_thread(show_run, services, run_id)
            if record.status.finished and not await asyncio.to_thread(
                    services.ledger.events, subject=run_id, after_seq=last):
                return
        quiet = 0.0 if batch else quiet + POLL_S
        if quiet >= HEARTBEAT_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_S)


def _server_stopping(request: Request) -> bool:
    """Whether the server this stream is served by is shutting down."""
    worker = getattr(request.app.state, "worker", None)
    return worker is not None and worker.shutting_down


def server_stopping_message(run_id: str) -> str:
    """The last message of a stream the server ends as it shuts down: no ``id`` (a client
    reconnects after the last ledger event it got), the run and what to do as ``data``."""
    data = json.dumps({"run_id": run_id, "message": "the server is shutting down; reconnect "
                       "(with Last-Event-ID) to follow the run"})
    return f"event: server_stopping\ndata: {data}\n\n"


def stream_error_message(code: str, message: str) -> str:
    """The last message of a stream a failure ends (a broken ledger event): no ``id``, and
    as ``data`` the ``code`` and ``message`` of the API's error shape."""
    data = json.dumps({"code": code, "message": message})
    return f"event: error\ndata: {data}\n\n"


# The events that start or end a try of the run: the last of them says whether it is over.
LIFECYCLE = frozenset({EventKind.RUN_START.value, EventKind.RUN_RESUME.value,
                       EventKind.RUN_END.value})


def _last_event_id(value: str | None) -> int:
    """The ``Last-Event-ID`` a reconnecting client sent; 0 (from the start) unless it is one.

    ASCII digits only: ``str.isdigit`` also accepts '²' and other digits ``int`` refuses,
    which broke the stream after its 200. Bounded: a sequence number fits in 18 digits.
    """
    if value and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return 0


__all__ = ["event_stream", "router", "sse_message"]
