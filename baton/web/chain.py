"""The ledger page's check of the events it shows: cheap, unlike ``Ledger.verify``.

Recomputing a million events' hashes on every page view would let any reader
load the server; the page checks its own window here and runs the full
verification only when asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from executor.ledger import GENESIS_HASH, LedgerEvent, event_hash


@dataclass(frozen=True)
class WindowCheck:
    """Outcome of checking the events a page shows (never the events before them)."""

    ok: bool
    events: int
    # Whether each event's link to the previous one shown was checked: only when they are
    # consecutive in the chain (the whole ledger's newest events, not one subject's).
    linked: bool
    first_broken_seq: int | None = None
    reason: str | None = None


def check_window(events: Sequence[LedgerEvent], *, consecutive: bool) -> WindowCheck:
    """Recompute each event's hash and, when ``consecutive``, its link to the one before it."""
    previous: LedgerEvent | None = None
    for count, event in enumerate(events, start=1):
        problem = _problem(event, previous if consecutive else None)
        if problem:
            return WindowCheck(ok=False, events=count, linked=consecutive,
                               first_broken_seq=event.seq, reason=problem)
        previous = event
    return WindowCheck(ok=True, events=len(events), linked=consecutive)


def _problem(event: LedgerEvent, previous: LedgerEvent | None) -> str | None:
    # Same wording as Ledger.verify, so the page and `baton audit verify` name faults alike.
    if event.seq == 1 and event.prev_hash != GENESIS_HASH:
        return "event 1: prev_hash is not the genesis hash"
    if previous is not None:
        if event.seq != previous.seq + 1:
            return (f"event {event.seq}: expected seq {previous.seq + 1} "
                    "(an event is missing or out of order)")
        if event.prev_hash != previous.hash:
            return f"event {event.seq}: prev_hash does not match the hash of event {previous.seq}"
    digest = event_hash(event.prev_hash, event.seq, event.at, event.kind, event.subject,
                        event.actor, event.payload)
    if digest != event.hash:
        return f"event {event.seq}: hash does not match its contents (the event was altered)"
    return None
