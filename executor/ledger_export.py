"""Writing the ledger out: JSON lines, or CloudEvents 1.0 in structured mode.

Both stream the chain in order, a batch at a time, so an export of a long
ledger does not hold it in memory. Each line carries ``prev_hash``, ``hash``
and the time exactly as hashed (``hashed_at``; CloudEvents: the ``batonat``
extension attribute, as ``time`` is RFC 3339 with a "Z"), so an auditor can
re-verify the exported chain from the export alone: an event's hash is
``sha256(prev_hash + canonical({seq, at: <time as hashed>, kind, subject,
actor, payload}))``, canonical being JSON with sorted keys, no whitespace and
non-ASCII kept as UTF-8 (the README's "Auditing" gives the recipe).

A CloudEvent's ``id`` is the event's seq, unique within its ``source``; the
default source, ``baton:ledger:<hash of the ledger's first event>``, names the
ledger, so events exported by two installations never share a (source, id).
A source chosen instead must be what CloudEvents 1.0 requires, a non-empty
RFC 3986 URI-reference (:func:`cloudevents_source_problem`).
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Callable
from datetime import UTC
from typing import Any, TextIO

from .ledger import GENESIS_HASH, Ledger, LedgerEvent, hashed_time
from .uri_reference import uri_reference_problem

Show = Callable[[LedgerEvent], LedgerEvent]
"""How a stored event is shown to the reader of an export (the stored one when not given)."""

CLOUDEVENTS_SOURCE_PREFIX = "baton:ledger:"
CLOUDEVENTS_TYPE_PREFIX = "dev.baton."


class ExportFormat(str, enum.Enum):
    """The formats ``baton audit export`` writes."""

    JSONL = "jsonl"
    CLOUDEVENTS = "cloudevents"


def event_record(event: LedgerEvent) -> dict[str, Any]:
    """One event as a plain JSON-ready dict (the JSON lines format)."""
    return {"seq": event.seq, "at": _rfc3339(event), "hashed_at": hashed_time(event.at),
            "kind": event.kind, "subject": event.subject, "actor": event.actor,
            "payload": event.payload, "prev_hash": event.prev_hash, "hash": event.hash}


def ledger_source(ledger: Ledger) -> str:
    """The default CloudEvents ``source`` of ``ledger``: ``baton:ledger:<first event's hash>``.

    Stable for a ledger (its first event never changes; verify catches one that
    did) and different between installations (that event's time is in its hash).
    """
    first = ledger.first()
    return CLOUDEVENTS_SOURCE_PREFIX + (first[1] if first else GENESIS_HASH)


def cloudevents_source_problem(source: str) -> str | None:
    """Why ``source`` is not a CloudEvents ``source`` (a non-empty URI-reference); None if it is.

    The answer is one line: the value is quoted with ``repr``, so a newline in it shows as ``\\n``.
    """
    if not source:
        return "must be a non-empty URI-reference (CloudEvents 1.0)"
    why = uri_reference_problem(source)
    return f"must be a URI-reference (CloudEvents 1.0): {why}, got {source!r}" if why else None


def cloudevent(event: LedgerEvent, *, source: str) -> dict[str, Any]:
    """One event as a CloudEvents 1.0 structured-mode JSON object (see :func:`ledger_source`)."""
    return {
        "specversion": "1.0",
        "id": f"{event.seq}",
        "source": source,
        "type": f"{CLOUDEVENTS_TYPE_PREFIX}{event.kind}",
        "subject": event.subject,
        "time": _rfc3339(event),
        # An extension attribute (lowercase letters and digits): the time as hashed, no "Z".
        "batonat": hashed_time(event.at),
        "datacontenttype": "application/json",
        "data": {"payload": event.payload, "actor": event.actor, "seq": event.seq,
                 "prev_hash": event.prev_hash, "hash": event.hash},
    }


def export_jsonl(ledger: Ledger, out: TextIO, subject: str | None = None, *,
                 show: Show | None = None) -> int:
    """Write every event (of ``subject`` when given) as one JSON object per line; return the count.

    ``show`` turns each stored event into the one written (the application masks secrets).
    """
    return _write(ledger, out, subject, event_record, show)


def export_cloudevents(ledger: Ledger, out: TextIO, subject: str | None = None, *,
                       source: str | None = None, show: Show | None = None) -> int:
    """Write every event (of ``subject`` when given) as CloudEvents JSON lines; return the count.

    ``source`` defaults to :func:`ledger_source`; one that is not a URI-reference is a ValueError.
    """
    if source is not None and (problem := cloudevents_source_problem(source)):
        raise ValueError(f"CloudEvents source {problem}")
    chosen = source if source is not None else ledger_source(ledger)
    shape = functools.partial(cloudevent, source=chosen)
    return _write(ledger, out, subject, shape, show)


def export(ledger: Ledger, out: TextIO, fmt: ExportFormat, subject: str | None = None, *,
           source: str | None = None, show: Show | None = None) -> int:
    """Write the ledger in ``fmt``; return the number of events written."""
    if fmt is ExportFormat.CLOUDEVENTS:
        return export_cloudevents(ledger, out, subject, source=source, show=show)
    return export_jsonl(ledger, out, subject, show=show)


def _write(ledger: Ledger, out: TextIO, subject: str | None, shape: Any,
           show: Show | None) -> int:
    count = 0
    for event in ledger.iter_events(subject=subject):
        if show is not None:
            event = show(event)
        out.write(json.dumps(shape(event), ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def _rfc3339(event: LedgerEvent) -> str:
    at = event.at if event.at.tzinfo is not None else event.at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
