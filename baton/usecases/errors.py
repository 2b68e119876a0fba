"""Errors the use cases raise themselves (the others come from the parts they wire).

    BatonError (tools.errors)
    ├── UsageError          the request is unusable as given: an empty goal or feedback, or
    │                       one the ledger cannot hold (a NUL, a lone surrogate)
    └── RunInternalError    a run in the foreground stopped on an internal error (a bug)
"""

from __future__ import annotations

from tools import BatonError


class UsageError(BatonError):
    """What was asked is unusable as given; nothing was tried, the caller must change it.

    The CLI exits 2 for it, as for any usage error; the API answers by its ``code`` (a 4xx).
    """

    code = "invalid_request"


class RunInternalError(BatonError):
    """A run in the foreground stopped on an internal error in the executor (a bug).

    Raised ``from`` the original exception once its traceback is logged: the caller shows one
    line, as for a failed run (the CLI exits 1). ``status`` is the run's afterwards (None: it
    could not be read); the runner ends it failed, resumable, unless its database is gone.
    """

    code = "run_internal_error"

    def __init__(self, run_id: str, status: str | None, *, ended: bool) -> None:
        self.run_id, self.status, self.ended = run_id, status, ended
        resume = f"`baton resume {run_id}`"
        if ended:
            what = (f"run {run_id} ended failed on an internal error in the executor; its "
                    f"traceback is in this command's log (stderr); {resume} runs its failed "
                    "steps again once the bug is fixed")
        else:
            left = f"was left {status}" if status else "its state could not be read"
            what = (f"run {run_id} stopped on an internal error in the executor and {left}; "
                    f"its traceback is in this command's log (stderr); {resume} finishes it "
                    "once the bug is fixed")
        super().__init__(what)
