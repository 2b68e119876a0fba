"""Save and restore the hooks ``configure_logging`` replaces: a test leaves them as found."""

from __future__ import annotations

import sys
import threading
import warnings

Hooks = tuple[object, object, object]


def python_report_hooks() -> Hooks:
    """The hooks Python reports warnings, thread and unraisable exceptions through."""
    return warnings.showwarning, threading.excepthook, sys.unraisablehook


def restore_python_report_hooks(hooks: Hooks) -> None:
    """Put back hooks saved by :func:`python_report_hooks`."""
    warnings.showwarning, threading.excepthook, sys.unraisablehook = hooks  # type: ignore
