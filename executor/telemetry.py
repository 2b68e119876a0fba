"""Traces and bound loggers for runs, steps and attempts.

``span(name, **attributes)`` opens an OpenTelemetry span when the SDK is
installed *and* a tracer provider is configured (by the host application,
``opentelemetry-instrument``, or ``use_tracer_provider``); otherwise it hands
back one shared no-op object without importing anything, so untraced runs
pay a dictionary lookup per span.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import structlog

from tools.redaction import redact

LOGGER_NAME = "baton.executor"
_INSTRUMENTATION = "baton.executor"
T = TypeVar("T")

# A provider handed to us explicitly wins over the global one (tests, embedders).
_explicit_provider: Any = None
# (provider, tracer): asking a provider for a tracer on every span is not free.
_cached: tuple[Any, Any] = (None, None)


class NoopSpan:
    """Stands in for a span when tracing is off; every method does nothing."""

    def set_attribute(self, key: str, value: Any) -> None:
        """Ignore an attribute."""

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        """Ignore attributes."""

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        """Ignore an event."""

    def record_exception(self, exception: BaseException) -> None:
        """Ignore an exception."""

    def is_recording(self) -> bool:
        """Always False: nothing is recorded."""
        return False


NOOP_SPAN = NoopSpan()


def use_tracer_provider(provider: Any) -> None:
    """Trace with ``provider`` (an OpenTelemetry ``TracerProvider``); None returns to the global one."""
    global _explicit_provider
    _explicit_provider = provider


def _tracer() -> Any:
    """The tracer to use, or None when tracing is not installed or not configured."""
    provider = _explicit_provider
    if provider is None:
        # Not imported by anyone means not configured by anyone: skip the import.
        if "opentelemetry.trace" not in sys.modules:
            return None
        from opentelemetry import trace

        provider = trace.get_tracer_provider()
        if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            return None
    global _cached
    if _cached[0] is not provider:
        _cached = (provider, provider.get_tracer(_INSTRUMENTATION))
    return _cached[1]


def _attribute(value: Any) -> Any:
    return value if isinstance(value, str | bool | int | float) else str(value)


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span named ``name`` (None-valued attributes dropped); records and re-raises errors."""
    tracer = _tracer()
    if tracer is None:
        yield NOOP_SPAN
        return
    clean = {f"baton.{k}": _attribute(v) for k, v in attributes.items() if v is not None}
    with tracer.start_as_current_span(name, attributes=clean) as current:
        yield current


def start_span(name: str, **attributes: Any) -> Any:
    """A span started now and ended by :func:`end_span`, for work a ``with`` block cannot enclose.

    An attempt is one: it starts when the loop launches the tool and ends
    when the loop settles its result. :data:`NOOP_SPAN` when tracing is off.
    """
    tracer = _tracer()
    if tracer is None:
        return NOOP_SPAN
    clean = {f"baton.{k}": _attribute(v) for k, v in attributes.items() if v is not None}
    return tracer.start_span(name, attributes=clean)


def run_in_span(current: Any, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` with ``current`` as the active span, so that a task or thread job it starts inherits it."""
    if current is NOOP_SPAN:
        return fn(*args)
    from opentelemetry import context, trace

    token = context.attach(trace.set_span_in_context(current))
    try:
        return fn(*args)
    finally:
        context.detach(token)


def end_span(current: Any, error: BaseException | None = None, *,
             secret_values: Iterable[str] = ()) -> None:
    """End a span from :func:`start_span`, recording ``error`` on it with secret values masked."""
    if current is NOOP_SPAN:
        return
    if error is not None:
        from opentelemetry.trace import Status, StatusCode

        # The event ``record_exception`` would add, masked: a tool's error text (or one of
        # its causes in the traceback) may echo a credential the tool was handed.
        kind = type(error)
        name = kind.__qualname__ if kind.__module__ in (None, "builtins") else (
            f"{kind.__module__}.{kind.__qualname__}")
        current.add_event("exception", redact({
            "exception.type": name, "exception.message": str(error),
            "exception.stacktrace": "".join(traceback.format_exception(error)),
            "exception.escaped": "False"}, secret_values))
        current.set_status(Status(StatusCode.ERROR, redact(str(error), secret_values)))
    current.end()


def bind_log(**ids: Any) -> Any:
    """A structlog logger bound with the given ids (run_id, step_id, attempt...), None ones dropped."""
    logger = structlog.get_logger(LOGGER_NAME)
    bound = {k: v for k, v in ids.items() if v is not None}
    # Binding builds a logger from the configuration of that moment; a module-level logger
    # (no ids) must stay a lazy proxy so `serve`/`worker` reconfiguring logging reaches it.
    return logger.bind(**bound) if bound else logger


__all__ = ["NOOP_SPAN", "NoopSpan", "bind_log", "end_span", "run_in_span", "span", "start_span",
           "use_tracer_provider"]
