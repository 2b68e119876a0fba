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
def span(name: str, *, secret_values: Iterable[str] = (), **attributes: Any) -> Iterator[Any]:
    """A span named ``name`` (None-valued attributes dropped); records and re-raises errors.

    An error escaping the block is recorded here, its text masked with ``secret_values``
    (the SDK's own recording would keep the raw text: a run's internal error may name a
    configured secret that its log and its stored error mask).
    """
    tracer = _tracer()
    if tracer is None:
        yield NOOP_SPAN
        return
    clean = {f"baton.{k}": _attribute(v) for k, v in attributes.items() if v is not None}
    with tracer.start_as_current_span(name, attributes=clean, record_exception=False,
                                      set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as error:
            record_error(current, error, secret_values=secret_values, escaped=True)
            raise


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
    try:
        if error is not None:
            record_error(current, error, secret_values=secret_values)
    finally:  # a span never ended is never exported, and stays open in its trace
        current.end()


def record_error(current: Any, error: BaseException, *, secret_values: Iterable[str] = (),
                 escaped: bool = False) -> None:
    """The event ``record_exception`` adds and an ERROR status, their texts masked and cut.

    A tool's error text (or one of its causes in the traceback) may echo a credential the
    tool was handed, and an internal error a configured one. An error escaping its span
    (``escaped``) is described as the SDK describes one, ``Type: message``; an attempt's by
    its message alone. Each text is masked, then cut as the step, ledger and log cut it
    (:func:`~executor.calls.cut_error_text`), then masked again (as the step's error is): the
    message, the status, and each part of the stack trace (a frame, each chained exception's
    message, a note), so that a 20 MB message is neither masked whole nor recorded whole, and
    every frame is kept.
    """
    if current is NOOP_SPAN:
        return
    from opentelemetry.trace import Status, StatusCode

    from .calls import cut_error_text  # that module builds on this one

    secrets = tuple(secret_values)

    def cut(text: str) -> str:
        # Masked again once cut: cut_error_text masks only the text's head, and a secret
        # running across the head's end (unmatched there) is pulled into what is kept when
        # masked copies before it shrink; its start, right before the cut mark, is masked now.
        return redact(cut_error_text(text, lambda head: redact(head, secrets)), secrets)

    def cut_part(part: str) -> str:  # its line end kept: the next part begins a line
        return cut(part[:-1]) + "\n" if part.endswith("\n") else cut(part)

    kind = type(error)
    name = kind.__qualname__ if kind.__module__ in (None, "builtins") else (
        f"{kind.__module__}.{kind.__qualname__}")
    message = error_message(error)
    # (traceback renders an exception whose __str__ raises as "<exception str() failed>")
    parts = [cut_part(part) for part in traceback.format_exception(error)]
    current.add_event("exception", {
        "exception.type": redact(name, secrets), "exception.message": cut(message),
        # Masked again whole: a secret may run from one part into the next (a note's lines).
        "exception.stacktrace": redact("".join(parts), secrets),
        "exception.escaped": str(escaped)})
    description = f"{kind.__name__}: {message}" if escaped else message
    current.set_status(Status(StatusCode.ERROR, cut(description)))


def fail_span(current: Any, description: str, *, secret_values: Iterable[str] = ()) -> None:
    """Set ``current``'s status to ERROR with ``description`` (masked): work that failed
    without an exception escaping it (a run that ended failed)."""
    if current is NOOP_SPAN:
        return
    from opentelemetry.trace import Status, StatusCode

    current.set_status(Status(StatusCode.ERROR, redact(description, tuple(secret_values))))


def error_message(error: BaseException) -> str:
    """``str(error)``; where its ``__str__`` raises, its type and why it could not be rendered.

    The exception may be a tool's, with a broken ``__str__``: describing it must not raise,
    or one tool's bad exception would end its whole run as an internal error.
    """
    try:
        return str(error)
    except Exception as failure:  # noqa: BLE001 - any failure of foreign code is described
        return unrendered_message(error, failure)


def unrendered_message(error: BaseException, failure: BaseException) -> str:
    """``Type (its message could not be rendered: Failure: why)`` for ``error``, whose
    ``__str__`` raised ``failure``."""
    try:
        why = f"{type(failure).__name__}: {failure}"
    except Exception:  # noqa: BLE001 - the failure cannot be rendered either
        why = type(failure).__name__
    return f"{type(error).__name__} (its message could not be rendered: {why})"


def bind_log(**ids: Any) -> Any:
    """A structlog logger bound with the given ids (run_id, step_id, attempt...), None ones dropped."""
    logger = structlog.get_logger(LOGGER_NAME)
    bound = {k: v for k, v in ids.items() if v is not None}
    # Binding builds a logger from the configuration of that moment; a module-level logger
    # (no ids) must stay a lazy proxy so `serve`/`worker` reconfiguring logging reaches it.
    return logger.bind(**bound) if bound else logger


__all__ = ["NOOP_SPAN", "NoopSpan", "bind_log", "end_span", "error_message", "fail_span",
           "record_error", "run_in_span", "span", "start_span", "unrendered_message",
           "use_tracer_provider"]
