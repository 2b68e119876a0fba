"""Ledger routes: read, verify and export the audit log; health."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from itertools import chain
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import text

from baton.settings import User, checked_cloudevents_source
from executor.ledger import LedgerEvent, head_text, parse_head
from executor.ledger_export import ExportFormat, cloudevent, event_record, ledger_source
from tools import BatonError

from .auth import require, services_of
from .errors import (ApiError, ErrorResponse, any_route_errors, error_responses,
                     token_route_errors)
from .permissions import Action
from .plain_json import json_response
from .verify_guard import VerifyRefused, verify_guard_of

router = APIRouter(responses=token_route_errors())
MAX_INT64 = 2**63 - 1  # what the database stores; larger numbers are invalid requests
health_router = APIRouter(tags=["health"])
# Export lines read before answering: a whole ledger of ordinary size, a bounded head of a huge one.
EXPORT_PREFETCH_BYTES = 1024 * 1024


class VerifyReport(BaseModel):
    """The outcome of recomputing the ledger's hash chain."""

    model_config = ConfigDict(frozen=True)

    ok: bool = Field(description="True when every event links and hashes correctly.")
    events: int = Field(description="Events checked.")
    first_broken_seq: int | None = Field(default=None, description="First bad event, if any.")
    reason: str | None = Field(default=None, description="Why that event is bad.")
    head: str | None = Field(default=None, description=(
        "The last event verified, as SEQ:HASH (null: the ledger is empty or broken). Record it "
        "outside Baton and pass it back as expect_head: the chain alone cannot reveal a "
        "suffix recomputed by a forger, nor a truncated tail."))


class Health(BaseModel):
    """Liveness answer."""

    model_config = ConfigDict(frozen=True)

    status: str = Field(description="'ok' when the server and its database answer.")
    time: datetime = Field(description="Server time (UTC).")


_VERIFY_REFUSED = {429: {"model": ErrorResponse, "headers": {"Retry-After": {
    "description": "Seconds to wait before asking again.", "schema": {"type": "integer"}}},
    "description": "A verification is already running (verify_in_progress), or this user "
                   "verified less than [audit] verify_cooldown_s ago (verify_cooldown)"}}


@router.get("/ledger/verify", response_model=VerifyReport, tags=["ledger"],
            summary="Verify the ledger's hash chain", responses=_VERIFY_REFUSED)
def verify_ledger(
    request: Request,
    expect_head: str | None = Query(
        default=None, max_length=200,
        description="A head recorded earlier (SEQ:HASH, as this answer's head gives it): "
                    "the chain must still pass through it unchanged."),
    user: User = Depends(require(Action.LEDGER_READ)),
) -> VerifyReport:
    """Recompute the chain; name the first broken event; give the head verified.

    It reads the whole ledger: one runs at a time per server, and each user waits
    ``[audit] verify_cooldown_s`` between theirs (429 with ``Retry-After`` meanwhile).
    The same check as ``baton audit verify [--expect-head SEQ:HASH]``.
    """
    try:
        anchor = parse_head(expect_head) if expect_head is not None else None
    except ValueError as exc:  # before the guard: a typo costs no cooldown
        raise RequestValidationError([{"type": "value_error", "loc": ("query", "expect_head"),
                                       "msg": str(exc), "input": expect_head}]) from exc
    try:
        with verify_guard_of(request).running(user.id):
            result = services_of(request).ledger.verify(expect_head=anchor)
    except VerifyRefused as exc:
        raise ApiError(429, exc.code, exc.message,
                       headers={"Retry-After": str(exc.retry_after_s)}) from exc
    verified = result.head if result.ok else None  # not a head appended since, nor one past a break
    return VerifyReport(ok=result.ok, events=result.events,
                        first_broken_seq=result.first_broken_seq, reason=result.reason,
                        head=head_text(verified) if verified else None)


# A row that no longer reads back as an event is refused, never passed on as one.
_BROKEN_EVENT = error_responses(409, described={
    409: "A ledger event is broken: tampered with or damaged (ledger_broken)"})


@router.get("/ledger/events", response_model=list[LedgerEvent], tags=["ledger"],
            summary="Read ledger events", responses=_BROKEN_EVENT)
def ledger_events(
    request: Request,
    subject: str | None = Query(default=None, max_length=80,
                                description="Only events about this plan or run id."),
    after_seq: int = Query(default=0, ge=0, le=MAX_INT64,
                           description="Only events after this position."),
    limit: int = Query(default=500, ge=1, le=5000, description="At most this many events."),
    user: User = Depends(require(Action.LEDGER_READ)),
) -> Response:
    """Events in chain order, configured secret values in their payloads masked."""
    from baton.usecases.ledger import read_events

    return json_response(read_events(services_of(request), subject=subject,
                                     after_seq=after_seq, limit=limit))


@router.get(
    "/ledger/export", tags=["ledger"], summary="Export the ledger",
    response_class=StreamingResponse,
    responses={200: {"description": "One JSON object per line (JSON lines or CloudEvents 1.0).",
                     "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
               **_BROKEN_EVENT},
)
def export_ledger(
    request: Request,
    format: ExportFormat = Query(default=ExportFormat.JSONL, description="jsonl or cloudevents."),
    subject: str | None = Query(default=None, max_length=80,
                                description="Only events about this plan or run id."),
    source: Annotated[str | None, Query(
        description="CloudEvents source of every event (a URI-reference; cloudevents only). "
                    "Default: the [audit] cloudevents_source setting, else "
                    "baton:ledger:<hash of the first event>."),
        AfterValidator(checked_cloudevents_source)] = None,
    user: User = Depends(require(Action.LEDGER_READ)),
) -> StreamingResponse:
    """Stream the chain in order; each line keeps prev_hash and hash for re-verification.

    Configured secret values in payloads are masked: such an event no longer re-hashes
    from the export (``GET /ledger/verify`` checks the stored chain).
    """
    from baton.usecases.ledger import iter_shown_events

    if source is not None and format is not ExportFormat.CLOUDEVENTS:
        raise RequestValidationError([{"type": "value_error", "loc": ("query", "source"),
                                       "msg": "applies only to format=cloudevents",
                                       "input": source}])
    services = services_of(request)
    ledger = services.ledger
    if format is ExportFormat.CLOUDEVENTS:
        chosen = source or services.settings.audit.cloudevents_source or ledger_source(ledger)
        shape = partial(cloudevent, source=chosen)
    else:
        shape = event_record

    events = iter_shown_events(services, subject)
    # Read (and so check) the events before answering, up to a bound: a broken event or a dead
    # database among them is a 409 or 503, not a 200 cut short. Past the bound, see _rest.
    head = _prefetch(events, shape, EXPORT_PREFETCH_BYTES)
    return StreamingResponse(chain(head, _rest(events, shape)), media_type="application/x-ndjson")


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _prefetch(events: Iterator[LedgerEvent], shape: Callable[[LedgerEvent], dict[str, Any]],
              max_bytes: int) -> list[str]:
    """The first lines of the export, until they hold ``max_bytes`` or the events end."""
    lines: list[str] = []
    size = 0
    while size < max_bytes:
        event = next(events, None)
        if event is None:
            break
        lines.append(_line(shape(event)))
        size += len(lines[-1])
    return lines


def _rest(events: Iterator[LedgerEvent],
          shape: Callable[[LedgerEvent], dict[str, Any]]) -> Iterator[str]:
    """The lines after the prefetched ones; a failure ends them with one error line.

    The status line is sent by then, and a connection cut off mid-line reads like a
    network fault: the last line ``{"error": {"code", "message"}}`` says what happened
    (no event record has a top-level ``error`` key).
    """
    try:
        for event in events:
            yield _line(shape(event))
    except Exception as exc:  # handled: reported in the stream and logged, not re-raised
        yield _line({"error": _stream_failure(exc)})


def _stream_failure(exc: Exception) -> dict[str, str]:
    import structlog

    from executor.store.db import StoreError, database_failure, is_database_error

    from .database_failures import told_of_database_failure

    log = structlog.get_logger("baton.api")
    if isinstance(exc, StoreError) or is_database_error(exc):
        # The whole message names the database's file or server: the log's, not the caller's.
        log.warning("ledger export stopped: database failed", error=database_failure(exc))
        return {"code": "store_error", "message": told_of_database_failure(exc)}
    if isinstance(exc, BatonError):
        log.warning("ledger export stopped", code=exc.code, error=exc.message)
        return {"code": exc.code, "message": exc.message}
    log.error("ledger export stopped: unexpected error", exc_info=exc)
    return {"code": "internal_error", "message": "internal error; see the server log"}


@health_router.get("/healthz", response_model=Health, summary="Liveness check",
                   responses={**any_route_errors(), **error_responses(503, described={503: (
                       "The database is unreachable, or its SQLite file was deleted, moved or "
                       "replaced while in use (store_error), or every tool thread is "
                       "held by a sync tool past its timeout (no_tool_thread)")})})
def healthz(request: Request) -> Health:
    """Answers without authentication when the server and its database are up and a sync
    tool can still get a thread."""
    import structlog

    from executor.tool_threads import TOOL_THREADS

    _check_database(request)
    # Only a restart frees threads held by sync tools that never return; saying so here
    # lets a supervisor that restarts unhealthy processes do it.
    held = TOOL_THREADS.held_by_stuck_tools()
    if held is not None:
        structlog.get_logger("baton.api").warning(
            "health check: every tool thread is held by a sync tool past its timeout", held=held)
        raise ApiError(503, "no_tool_thread", f"all {TOOL_THREADS.max_threads} tool threads are "
                       "held by sync tools still running past their timeouts; restart the process")
    return Health(status="ok", time=datetime.now(UTC))


def _check_database(request: Request) -> None:
    """A 503 ``store_error`` when the database does not answer, or its SQLite file is no longer
    the one opened (its connections would still answer, from the file that was there)."""
    import structlog

    from executor.store import StoreError
    from executor.store.db import database_failure, is_database_error, sqlite_file

    log = structlog.get_logger("baton.api")
    change = None
    try:
        engine = services_of(request).engine
        file = sqlite_file(engine)
        change = file.change() if file is not None else None
        if change is not None:
            log.warning("health check: database file gone", error=file.problem())
        else:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
    except Exception as exc:
        if not (isinstance(exc, StoreError) or is_database_error(exc)):
            raise
        # Anyone may ask: the driver's detail (host, port, user) goes to the log, not the answer.
        log.warning("health check: database unreachable", error=database_failure(exc))
        raise ApiError(503, "store_error", "the database is unreachable") from exc
    if change is not None:  # likewise: what became of the file, not where it is
        raise ApiError(503, "store_error", f"the database is unreachable: its file {change}")
