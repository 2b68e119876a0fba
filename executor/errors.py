"""Errors of the runner, under ``tools.errors.BatonError``.

    BatonError
    ├── RunError                a run cannot be started, resumed or continued
    │   ├── RunNotFoundError    no run has that id
    │   ├── RunOwnedError       another live process owns the run
    │   ├── LeaseLostError      another process took the run over mid-way
    │   └── RunLeftError        this process is shutting down: the run is left to another
    ├── RunDeferredError        the run cannot be judged now (defined in tools.errors, so
    │                           that the application's settings error derives from it cheaply)
    └── BrokenEventError        a ledger row cannot be read back (malformed or tampered with)
"""

from __future__ import annotations

from tools import BatonError
from tools.errors import RunDeferredError

__all__ = ["BrokenEventError", "LeaseLostError", "RunDeferredError", "RunError",
           "RunLeftError", "RunNotFoundError", "RunOwnedError"]


class RunError(BatonError):
    """A run cannot be started, resumed or continued."""

    code = "run_error"


class RunNotFoundError(RunError):
    """No run has that id."""

    code = "run_not_found"


class RunOwnedError(RunError):
    """The run belongs to another process that is still alive."""

    code = "run_owned"


class LeaseLostError(RunError):
    """Another process took the run over; this one stops without recording more."""

    code = "lease_lost"


class RunLeftError(RunError):
    """This process is shutting down (its drain, :mod:`executor.draining`): the run is left,
    unfinished, for another worker or ``baton resume``; ``in_flight`` names the steps whose
    attempt had not ended."""

    code = "run_left"

    def __init__(self, run_id: str, *, in_flight: tuple[str, ...] = ()) -> None:
        left = f"steps {', '.join(in_flight)} left in flight" if in_flight else "no step in flight"
        super().__init__(f"run {run_id} left unfinished as this process shuts down ({left})")
        self.run_id = run_id
        self.in_flight = in_flight


class BrokenEventError(BatonError):
    """A ledger row cannot be read back as an event: it was tampered with or damaged."""

    code = "ledger_broken"

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"ledger event {seq} is broken: {reason} (`baton audit verify` checks "
                         "the whole chain)")
        self.seq = seq
        self.reason = reason
