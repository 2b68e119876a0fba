"""Ledger routes: read, verify and export the audit log; health."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import chain
from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import text

from baton.settings import User, checked_cloudevents_source
from executor.ledger import LedgerEvent
from executor.ledger_export import ExportFormat, cloudevent, event_record, ledger_source

from .auth import require, services_of
from .errors import error_responses
from .permissions import Action

router = APIRouter(responses=error_responses(401, 403))
MAX_INT64 = 2**63 - 1  # what the database stores; larger numbers are invalid requests
health_router = APIRouter(tags=["health"])


class VerifyReport(BaseModel):
    """The outcome of recomputing the ledger's hash chain."""

    model_config = ConfigDict(frozen=True)

    ok: bool = Field(description="True when every event links and hashes correctly.")
    events: int = Field(description="Events checked.")
    first_broken_seq: int | None = Field(default=None, description="First bad event, if any.")
    reason: str | None = Field(default=None, description="Why that event is bad.")


class Health(BaseModel):
    """Liveness answer."""

    model_config = ConfigDict(frozen=True)

    status: str = Field(description="'ok' when the server and its database answer.")
    time: datetime = Field(description="Server time (UTC).")


@router.get("/ledger/verify", response_model=VerifyReport, tags=["ledger"],
            summary="Verify the ledger's hash chain")
def verify_ledger(request: Request,
                  user: User = Depends(require(Action.LEDGER_READ))) -> VerifyReport:
    """Recompute the chain; name the first broken event."""
    result = services_of(request).ledger.verify()
    return VerifyReport(ok=result.ok, events=result.events,
                        first_broken_seq=result.first_broken_seq, reason=result.reason)


@router.get("/ledger/events", response_model=list[LedgerEvent], tags=["ledger"],
            summary="Read ledger events")
def ledger_events(
    request: Request,
    subject: str | None = Query(default=None, max_length=80,
                                description="Only events about this plan or run id."),
    after_seq: int = Query(default=0, ge=0, le=MAX_INT64,
                           description="Only events after this position."),
    limit: int = Query(default=500, ge=1, le=5000, description="At most this many events."),
    user: User = Depends(require(Action.LEDGER_READ)),
) -> list[LedgerEvent]:
    """Events in chain order."""
    return services_of(request).ledger.events(subject=subject, after_seq=after_seq, limit=limit)


@router.get(
    "/ledger/export", tags=["ledger"], summary="Export the ledger",
    response_class=StreamingResponse,
    responses={200: {"description": "One JSON object per line (JSON lines or CloudEvents 1.0).",
                     "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
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
    """Stream the chain in order; each line keeps prev_hash and hash for re-verification."""
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

    events = ledger.iter_events(subject=subject)
    # Read the first batch before answering: a dead database is a 503, not a 200 cut short.
    first = next(events, None)

    def lines() -> Iterator[str]:
        for event in chain([first] if first is not None else [], events):
            yield json.dumps(shape(event), ensure_ascii=False, separators=(",", ":")) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@health_router.get("/healthz", response_model=Health, summary="Liveness check")
def healthz(request: Request) -> Health:
    """Answers without authentication when the server and its database are up."""
    with services_of(request).engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return Health(status="ok", time=datetime.now(UTC))
