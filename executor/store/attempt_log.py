"""A step's attempts, kept as a small JSON list in its own ``run_steps`` row.

Each attempt is journalled where its step already is: the ``UPDATE`` that
marks the step running (or done) carries the step's attempt log too. A
separate attempts table cost two more B-tree pages (its rows and its index)
in every commit of the run loop, for data the step row holds as well.

An entry is ``{"attempt", "status", "started_at"[, "ended_at", "error",
"retryable", "budget_reset", "backoff_s", "called"]}`` with timestamps in ISO 8601,
UTC. A retry is journalled before it waits out its backoff (``backoff_s``) and marked
``called`` once the wait is over, just before its tool is called: a takeover then knows
whether an interrupted retry ever made its call, and waits what is left of its backoff first
(:func:`wait_left`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..records import AttemptRecord, AttemptStatus

INTERRUPTED_ERROR = "interrupted: its owner stopped before recording a result"

Entry = dict[str, Any]

_FAILED = AttemptStatus.FAILED.value
_INTERRUPTED = AttemptStatus.INTERRUPTED.value


def parse(text: str | None) -> list[Entry]:
    """The entries stored in a row (an empty list for a step never attempted)."""
    return json.loads(text) if text else []


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # built once: this runs twice per step


def dumps(log: list[Entry]) -> str:
    """The text stored in a row."""
    return _ENCODER.encode(log)


def start(log: list[Entry], attempt: int, at: datetime, *, backoff_s: float = 0.0) -> None:
    """Append a started attempt (a retry whose call waits ``backoff_s`` first says so)."""
    entry = {"attempt": attempt, "status": AttemptStatus.STARTED.value, "started_at": _iso(at)}
    if backoff_s > 0:
        entry["backoff_s"] = round(backoff_s, 6)
    log.append(entry)


def call_began(log: list[Entry]) -> None:
    """The attempt in flight waited out its backoff and is calling its tool now."""
    log[-1]["called"] = True


def may_have_called(entry: Entry) -> bool:
    """Whether an attempt's tool may have been called: it did not wait for a backoff, or its
    wait was over (a retry whose owner died during the wait never made its call)."""
    return not entry.get("backoff_s") or bool(entry.get("called"))


def wait_left(entry: Entry, now: datetime) -> float:
    """What is left at ``now`` of the backoff an interrupted retry was waiting out when its
    owner died (0.0: it had none, its call began, or its wait is over): a takeover waits that
    long before calling. ``started_at`` is the dead owner's clock, ``now`` the taker's: on
    another machine they may disagree, and a wait is never longer than the whole backoff."""
    backoff = entry.get("backoff_s")
    if not backoff or entry.get("called"):
        return 0.0
    left = backoff - (now - datetime.fromisoformat(entry["started_at"])).total_seconds()
    return min(max(left, 0.0), backoff)


def finish(log: list[Entry], status: AttemptStatus, at: datetime, *, error: str | None = None,
           retryable: bool | None = None) -> None:
    """Record the outcome of the last attempt (the one in flight)."""
    entry = log[-1]
    entry["status"] = status.value
    entry["ended_at"] = _iso(at)
    if error is not None:
        entry["error"] = error
    if retryable is not None:
        entry["retryable"] = retryable


def interrupt(log: list[Entry], at: datetime) -> bool:
    """Mark the attempt left in flight by a dead owner as interrupted; False when none was."""
    if not log or log[-1]["status"] != AttemptStatus.STARTED.value:
        return False
    finish(log, AttemptStatus.INTERRUPTED, at, error=INTERRUPTED_ERROR)
    return True


def tries(log: list[Entry]) -> int:
    """Attempts that count against the step's retry budget: those that failed, or were
    interrupted with their call possibly made (:func:`may_have_called`), since the budget
    was last reset (see :func:`reset_budget`). A retry whose owner died while it waited out
    its backoff never called its tool: it spent nothing."""
    count = 0
    for entry in reversed(log):
        if entry.get("budget_reset"):
            break
        if entry["status"] == _FAILED or (entry["status"] == _INTERRUPTED
                                          and may_have_called(entry)):
            count += 1
    return count


def interrupted_last(log: list[Entry]) -> bool:
    """Whether the last attempt was interrupted by a takeover and nobody has resumed the
    step deliberately since (a person's resume resets the budget on that very entry)."""
    return bool(log) and log[-1]["status"] == AttemptStatus.INTERRUPTED.value and not log[-1].get(
        "budget_reset")


def reset_budget(log: list[Entry]) -> None:
    """A person resumed the run after this step failed for good: its next attempts start a
    fresh retry budget. (A crash takeover does not reset it: tries made before count.)"""
    if log:
        log[-1]["budget_reset"] = True


def records(log: list[Entry]) -> tuple[AttemptRecord, ...]:
    """The entries as the records the run store hands out."""
    return tuple(AttemptRecord(
        attempt=e["attempt"], status=AttemptStatus(e["status"]), error=e.get("error"),
        retryable=e.get("retryable"), started_at=datetime.fromisoformat(e["started_at"]),
        ended_at=datetime.fromisoformat(e["ended_at"]) if "ended_at" in e else None,
    ) for e in log)


def _iso(at: datetime) -> str:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
