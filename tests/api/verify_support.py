"""Helpers of the verification-limit tests: a clock set by hand and a verification held open."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from baton.services import Services


class FakeClock:
    """A monotonic clock that moves only when a test sets ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def held_verification(services: Services, monkeypatch: Any) -> Iterator[threading.Event]:
    """Make ``services.ledger.verify`` wait until the test lets it go; yields "it has started".

    The ledger is built once per ``Services``, so the servers over ``services`` call this one.
    """
    started, release = threading.Event(), threading.Event()
    real = services.ledger.verify

    def held(**options: Any) -> Any:
        started.set()
        assert release.wait(30), "the test never let the verification finish"
        return real(**options)

    monkeypatch.setattr(services.ledger, "verify", held)
    try:
        yield started
    finally:
        release.set()


def in_background(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start ``call`` in a thread; the list receives its result."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(call()), daemon=True)
    thread.start()
    return thread, results
