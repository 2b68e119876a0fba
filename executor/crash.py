"""Crash points for durability tests: the runner kills itself with SIGKILL at a named point.

Set ``BATON_CRASH_AT`` to ``after_attempt_started:<step_id>``,
``after_tool_returned:<step_id>`` or ``between_steps:<step_id>``. It is
honoured only when ``BATON_ALLOW_CRASH_POINTS=1`` is also set, so a stray
variable in production does nothing. Tests only.
"""

from __future__ import annotations

import enum
import os
import signal
from collections.abc import Mapping


class CrashPoint(str, enum.Enum):
    """Where the runner may be told to die."""

    AFTER_ATTEMPT_STARTED = "after_attempt_started"  # "attempt started" committed, tool not called
    AFTER_TOOL_RETURNED = "after_tool_returned"      # tool returned, result not committed
    BETWEEN_STEPS = "between_steps"                  # result committed, next step not started


def crash_target(environ: Mapping[str, str] | None = None) -> tuple[CrashPoint, str] | None:
    """The configured (point, step id), or None when crash points are off."""
    env = os.environ if environ is None else environ
    if env.get("BATON_ALLOW_CRASH_POINTS") != "1":
        return None
    raw = env.get("BATON_CRASH_AT", "")
    point, _, step_id = raw.partition(":")
    try:
        return CrashPoint(point), step_id
    except ValueError:
        return None


def crash_now() -> None:
    """Die at once, as a power cut or ``kill -9`` would: no cleanup, no commit."""
    os.kill(os.getpid(), signal.SIGKILL)
