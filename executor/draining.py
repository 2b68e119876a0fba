"""Shutting down without starting anything new: a process's drain.

A process that is asked to stop (``baton serve`` on SIGTERM or Ctrl-C, ``baton worker`` on
SIGTERM, ``baton run`` and ``baton resume`` on SIGTERM or a first Ctrl-C) requests its
:class:`Drain`. From then on its worker claims no run, and the run it is running starts
nothing: no step, and no retry's call (a retry waiting out its backoff is left as it is,
never called: the run's next owner waits what is left of it). The calls already made get
:attr:`Drain.grace_s` to end; their results are committed as ever. Then the run is left as
a dead owner leaves it, its lease given back at once (:meth:`~executor.runner.Runner.run`),
for any worker or ``baton resume`` to finish: what was still in flight is called again with
the same idempotency key, or, a write that is not idempotent, refused as after any
interruption. A run whose last steps ended during the grace (or that is ending anyway:
cancelled, a step failed for good) ends as it would have.

Seen by the run loop once per turn and before each start, as a cancel is: which steps started
depends on when the signal came, never what a step computes (a run drained and taken over
ends with the outputs of one that ran through).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import RunLeftError
from .scheduling import StepStatus
from .store import attempt_log
from .telemetry import bind_log, end_span

if TYPE_CHECKING:
    from .run_state import RunState

DEFAULT_GRACE_S = 5.0
"""How long calls in flight may take to end once a drain is requested."""

log = bind_log()


class Drain:
    """A request to stop (set once, from any thread or a signal handler) and its grace period.

    Plain attributes, no lock: a signal handler runs between two bytecodes of the thread it
    interrupts, and must never wait for a lock that thread may hold.
    """

    def __init__(self, grace_s: float = DEFAULT_GRACE_S, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 on_seen: Callable[[str, tuple[str, ...], float], None] | None = None) -> None:
        if not grace_s >= 0:
            raise ValueError(f"a drain's grace must be 0 or more seconds, not {grace_s!r}")
        self.grace_s = grace_s
        self._monotonic = monotonic
        # Told (run id, steps in flight, grace left) by each run's loop as it first sees the
        # drain, in the loop's thread: a signal handler must not print, the loop may.
        self._on_seen = on_seen
        self._deadline: float | None = None
        self._seen: set[str] = set()  # the runs whose loop saw it (by their loop's thread)

    def request(self) -> None:
        """Stop claiming and starting; the calls in flight get ``grace_s`` from now (the first
        request's: asking again changes nothing)."""
        if self._deadline is None:
            self._deadline = self._monotonic() + self.grace_s

    @property
    def requested(self) -> bool:
        """Whether a drain was requested."""
        return self._deadline is not None

    def or_requested(self, should_stop: Callable[[], bool]) -> Callable[[], bool]:
        """``should_stop``, true too once a drain is requested."""
        return lambda: self.requested or should_stop()

    def first_seen_by(self, run_id: str) -> bool:
        """Whether this is the first time the loop of ``run_id`` sees the drain (it says so)."""
        if run_id in self._seen:
            return False
        self._seen.add(run_id)
        return True

    def tell_seen(self, run_id: str, in_flight: tuple[str, ...]) -> None:
        """Tell ``on_seen`` that the loop of ``run_id`` saw the drain; a failure of it is
        logged, never raised into the run (it would stop as after a crash)."""
        if self._on_seen is None:
            return
        try:
            self._on_seen(run_id, in_flight, self.time_left())
        except Exception:  # noqa: BLE001 - saying it is not worth the run
            log.exception("telling the drain was seen failed", run_id=run_id)

    def time_left(self) -> float:
        """Seconds left of the grace (the whole grace before any request; 0.0 once over)."""
        if self._deadline is None:
            return self.grace_s
        return max(0.0, self._deadline - self._monotonic())


def drain_turn(st: RunState) -> None:
    """One turn of a draining run, after its commit: leave the retries that have not called
    their tool, then wait for the calls made (return) until none is left or the grace is over.

    Returns too when nothing is left in flight and the run ends as it would anyway
    (every step done, a cancel, a step failed for good); otherwise raises
    :class:`RunLeftError` naming the steps left in flight.
    """
    assert st.drain is not None
    if not st.stopping:  # stopping, the loop drops them itself: each settles as not called
        for sid in [sid for sid in st.running if not _called(st, sid)]:
            _leave(st, sid)
    if st.drain.first_seen_by(st.run_id):
        log.info("shutting down: the run starts no more steps", run_id=st.run_id,
                 waiting_for=list(st.running), grace_s=round(st.drain.time_left(), 3))
        st.drain.tell_seen(st.run_id, tuple(st.running))
    if st.running and st.drain.time_left() > 0:
        return
    if not st.running and (st.stopping or all(
            status is StepStatus.SUCCEEDED for status in st.states.values())):
        return
    # A step running whose call is not in flight: its retry was left uncalled (not journalled,
    # or waiting out its backoff). Named apart: the warning's "in flight" are calls made.
    in_flight = tuple(sid for sid in st.running if _called(st, sid))
    retries = [sid for sid, status in st.states.items()
               if status is StepStatus.RUNNING and sid not in in_flight]
    if retries:
        log.info("shutting down: retries left to the next owner", run_id=st.run_id,
                 steps=retries)
    raise RunLeftError(st.run_id, in_flight=in_flight)


def _called(st: RunState, sid: str) -> bool:
    """Whether the step's attempt in flight may have called its tool (a retry still waiting
    out its backoff, or its turn, has not)."""
    entries = st.steps[sid].attempt_log
    return bool(entries) and attempt_log.may_have_called(entries[-1])


def _leave(st: RunState, sid: str) -> None:
    """Stop waiting for a retry that has not called its tool: it is never called here, and
    its journal says so (started, waiting out a backoff), for the run's next owner."""
    st.running.remove(sid)
    st.turns.pop(sid, None)
    backoff = st.backoffs.pop(sid, None)
    if backoff is not None:
        backoff.cancel()
    call = st.calls.pop(sid, None)
    if call is not None:
        call.abandon()
        end_span(call.span)


__all__ = ["DEFAULT_GRACE_S", "Drain", "RunLeftError", "drain_turn"]
