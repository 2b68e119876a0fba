"""Reading the ledger for people: events with configured secret values masked.

The ledger masks secrets as it writes, but only those configured at the time: a goal,
comment or argument stored before its value became a secret holds it raw. Every reader
(CLI, API, web, run event streams, exports) goes through :func:`shown_event`; only
verification reads the stored payloads, which its hashes cover.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import TextIO

from executor.ledger import LedgerEvent
from executor.ledger_export import ExportFormat
from tools.redaction import redact

from ..services import Services


def shown_event(services: Services, event: LedgerEvent) -> LedgerEvent:
    """``event`` as people may see it: configured secret values in its payload masked.

    A masked event keeps its stored ``hash``, which no longer re-hashes from what is shown.
    """
    payload = redact(event.payload, services.secret_values)
    return event if payload == event.payload else event.model_copy(update={"payload": payload})


def shown_events(services: Services, events: Iterable[LedgerEvent]) -> list[LedgerEvent]:
    """Each of ``events`` as shown (see :func:`shown_event`)."""
    return [shown_event(services, e) for e in events]


def iter_shown_events(services: Services, subject: str | None = None,
                      kinds: list[str] | None = None) -> Iterator[LedgerEvent]:
    """The ledger's events (of ``subject``, of ``kinds``) in chain order, as shown."""
    for event in services.ledger.iter_events(subject=subject, kinds=kinds):
        yield shown_event(services, event)


def read_events(services: Services, *, subject: str | None = None, after_seq: int = 0,
                limit: int | None = 500) -> list[LedgerEvent]:
    """At most ``limit`` (None: all) events after ``after_seq`` (of ``subject``), as shown."""
    return shown_events(services, services.ledger.events(subject=subject, after_seq=after_seq,
                                                         limit=limit))


def export_events(services: Services, out: TextIO, fmt: ExportFormat,
                  subject: str | None = None, *, source: str | None = None) -> int:
    """Write the ledger in ``fmt``, one event per line and each as shown; return the count.

    ``source`` (cloudevents only) defaults to the ledger's own; check it before calling.
    """
    from executor.ledger_export import export

    return export(services.ledger, out, fmt, subject, source=source,
                  show=functools.partial(shown_event, services))


__all__ = ["export_events", "iter_shown_events", "read_events", "shown_event", "shown_events"]
