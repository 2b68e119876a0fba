"""A limit on full ledger verifications started over HTTP (the API and the web page's button).

``Ledger.verify`` reads every row of the ledger, so any reader repeating it,
or starting many at once, could keep the database busy reading the whole
table. :class:`VerifyGuard` lets one full verification run at a time in a
server process, and makes each user wait ``[audit] verify_cooldown_s`` after
one of theirs finishes before starting the next. Both refusals carry the
seconds to wait, for a ``Retry-After`` header. ``baton audit verify`` is an
operator's local command and is not limited.

Each server process has its own guard: with several processes, as many
verifications may run at once as there are processes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi import Request

from tools import BatonError

Clock = Callable[[], float]
"""Seconds from an arbitrary start that never go back (``time.monotonic``)."""


class VerifyRefused(BatonError):
    """A full verification was not started: one runs, or the user's cooldown has not passed."""

    def __init__(self, message: str, *, code: str, retry_after_s: int) -> None:
        super().__init__(message, code=code)
        #: Whole seconds (at least 1) to wait before asking again: the ``Retry-After`` value.
        self.retry_after_s = retry_after_s


class VerifyGuard:
    """One full ledger verification at a time, and a cooldown per user after each."""

    def __init__(self, cooldown_s: float, *, clock: Clock = time.monotonic) -> None:
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._busy = threading.Lock()  # held while a verification runs; never waited for
        # Per user id, when their last verification ended. Users are declared in the
        # settings, so this holds at most one entry per declared user.
        self._finished: dict[str, float] = {}
        # (when the running verification started, how long the previous one took): one
        # tuple assigned at once, so a refusal reads a consistent pair without the lock.
        self._timing: tuple[float, float] = (0.0, 0.0)

    @contextmanager
    def running(self, user_id: str) -> Iterator[None]:
        """Hold the one verification slot for ``user_id``; ``VerifyRefused`` if not theirs now."""
        if not self._busy.acquire(blocking=False):
            raise self._already_running()
        try:
            self._check_cooldown(user_id)
            started = self._clock()
            self._timing = (started, self._timing[1])
            try:
                yield
            finally:
                # A failed verification counts too: it read the table all the same.
                ended = self._clock()
                self._finished[user_id] = ended
                self._timing = (started, ended - started)
        finally:
            self._busy.release()

    def _check_cooldown(self, user_id: str) -> None:
        """Refuse while ``user_id``'s last verification ended less than the cooldown ago."""
        ended = self._finished.get(user_id)
        if ended is None:
            return
        left = self.cooldown_s - (self._clock() - ended)
        if left > 0:
            raise VerifyRefused(
                f"you verified the whole ledger moments ago; each user may start one full "
                f"verification every {self.cooldown_s:g} s ([audit] verify_cooldown_s): "
                f"try again in {_whole_seconds(left)} s",
                code="verify_cooldown", retry_after_s=_whole_seconds(left))

    def _already_running(self) -> VerifyRefused:
        """The refusal while another verification runs; its end guessed from the last one's."""
        started, last_took = self._timing
        left = last_took - (self._clock() - started)
        return VerifyRefused(
            "a verification of the whole ledger is already running on this server; "
            "wait for it to finish and try again",
            code="verify_in_progress", retry_after_s=_whole_seconds(left))


def _whole_seconds(seconds: float) -> int:
    """``seconds`` rounded up, at least 1: ``Retry-After`` is whole seconds; 0 invites a storm."""
    return max(1, math.ceil(seconds))


def verify_guard_of(request: Request) -> VerifyGuard:
    """The guard of the app serving ``request`` (one per app: the API's and the web page's)."""
    return request.app.state.verify_guard
