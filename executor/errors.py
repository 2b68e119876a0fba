"""Errors of the runner, under ``tools.errors.BatonError``.

    BatonError
    ├── RunError                a run cannot be started, resumed or continued
    │   ├── RunNotFoundError    no run has that id
    │   ├── RunOwnedError       another live process owns the run
    │   └── LeaseLostError      another process took the run over mid-way
    ├── RunDeferredError        the run cannot be judged now (defined in tools.errors, so
    │                           that the application's settings error derives from it cheaply)
    └── BrokenEventError        a ledger row cannot be read back (malformed or tampered with)
"""

from __future__ import annotations

from tools import BatonError
from tools.errors import RunDeferredError

__all__ = ["BrokenEventError", "LeaseLostError", "RunDeferredError", "RunError",
           "RunNotFoundError", "RunOwnedError"]


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


class BrokenEventError(BatonError):
    """A ledger row cannot be read back as an event: it was tampered with or damaged."""

    code = "ledger_broken"

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"ledger event {seq} is broken: {reason} (`baton audit verify` checks "
                         "the whole chain)")
        self.seq = seq
        self.reason = reason
