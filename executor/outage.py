"""Waiting out a database that cannot be reached (a restart, a failover), as a worker does.

Deciding how long to wait (:func:`backoff_s`, pure) is apart from waiting and saying so
(:class:`DatabaseOutage`, which logs, sleeps and gives up).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from .store.db import StoreError
from .telemetry import bind_log

log = bind_log()

# The first wait after a refused or lost connection, doubled after each failed try up to the
# longest: a restart is over in seconds, a failover can take a minute, and a hundred workers
# knocking ten times a second would slow the server that is coming back.
FIRST_WAIT_S = 0.5
LONGEST_WAIT_S = 30.0
# How long `baton worker --once` waits for the database before giving up with its error.
ONCE_WAIT_S = 60.0
# A stop asked during a wait is seen within this long.
SLICE_S = 0.1


def wait_limit_s(once: bool, wait_for_database_s: float | None) -> float:
    """How long a worker waits for an unreachable database: ``wait_for_database_s`` when
    given; else for ever, or :data:`ONCE_WAIT_S` for a worker that stops once idle."""
    if wait_for_database_s is not None:
        return wait_for_database_s
    return ONCE_WAIT_S if once else math.inf


def backoff_s(tries: int, *, rand: Callable[[], float] = random.random) -> float:
    """The wait after ``tries`` failed tries in a row: 0.5 s doubling up to 30 s, each
    between half and all of that (jitter: workers that lost the database together must not
    all knock again at the same instant)."""
    full = min(LONGEST_WAIT_S, FIRST_WAIT_S * 2 ** min(max(tries, 1) - 1, 30))
    return full * (0.5 + rand() / 2)


class DatabaseOutage:
    """One worker's view of the database being unreachable: each spell is logged once when
    it starts (with the error) and once when it ends, and waited out between tries.

    Past ``limit_s`` from the spell's first failure, the next failure goes on up, saying so.
    """

    def __init__(self, owner: str, limit_s: float, *, monotonic: Callable[[], float],
                 sleep: Callable[[float], object], rand: Callable[[], float] = random.random
                 ) -> None:
        self.owner, self.limit_s = owner, limit_s
        self.monotonic, self.sleep, self.rand = monotonic, sleep, rand
        self.since: float | None = None  # the spell's first failure (None: the database answers)
        self.tries = 0

    def failed(self, error: StoreError, should_stop: Callable[[], bool]) -> None:
        """A try failed on ``error``, a lost or refused connection: wait before the next one.

        The wait ends early when ``should_stop`` says so (asked every ``SLICE_S``); past the
        limit a ``StoreError`` naming ``error`` and the time waited is raised instead.
        """
        now = self.monotonic()
        if self.since is None:
            self.since = now
            log.warning("the database is unavailable; waiting for it", owner=self.owner,
                        error=error.message)
        elif now - self.since >= self.limit_s:
            raise StoreError(f"{error.message} (still failing after {now - self.since:.0f} s; "
                             "giving up)") from error
        self.tries += 1
        # Never past the limit: the try that gives up comes when it is due.
        until = now + min(backoff_s(self.tries, rand=self.rand), self.since + self.limit_s - now)
        while not should_stop() and (left := until - self.monotonic()) > 0:
            self.sleep(min(SLICE_S, left))

    def answered(self) -> None:
        """A try got through: the spell, if there was one, is over."""
        if self.since is not None:
            log.info("the database is back", owner=self.owner,
                     unavailable_s=round(self.monotonic() - self.since, 1), failed_tries=self.tries)
            self.since, self.tries = None, 0
