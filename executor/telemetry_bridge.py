"""Spans when ``executor.telemetry`` (OpenTelemetry set-up) is present; a no-op otherwise."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any


def _no_span(name: str, **attributes: Any) -> AbstractContextManager[None]:
    return nullcontext()


try:
    from .telemetry import span as _span  # type: ignore[attr-defined]
except ImportError:  # the telemetry module is optional
    _span = _no_span

span: Callable[..., AbstractContextManager[Any]] = _span
