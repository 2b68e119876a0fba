"""Structured logs: JSON lines on stderr for ``baton worker``/``serve``, a console view otherwise.

Every entry goes through ``SecretMasker`` last but one, so a secret value
that slips into an event, a bound id or a formatted traceback is masked
before anything is rendered.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

from tools.redaction import REDACTED, redact

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}


class SecretMasker:
    """A structlog processor replacing every known secret value with a marker."""

    def __init__(self, secret_values: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secret_values if s}, key=len, reverse=True)

    def __call__(self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
        """Mask secrets in every value (keys are code, not data)."""
        if not self._secrets:
            return event_dict
        return {key: _mask(value, self._secrets) for key, value in event_dict.items()}


def _mask(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str | dict | list | tuple):
        return redact(value, secrets)
    if isinstance(value, int | float | bool) or value is None:
        return value
    text = str(value)  # exceptions, paths, models: compare their text form
    masked = redact(text, secrets)  # compares escaped forms too (tools.redaction.secret_forms)
    return masked if masked != text else value


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing.

    Binding the stream object at configuration time breaks when it is later
    replaced and closed (test runners, CliRunner, daemonised workers).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def level_number(level: str | int) -> int:
    """A logging level from a name ('info') or a number; a bad name raises ValueError."""
    if isinstance(level, int):
        return level
    try:
        return _LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}") from None


def configure_logging(level: str | int = "info", json: bool = False, *,
                      secret_values: Iterable[str] = (), stream: Any = None) -> None:
    """Configure structlog and stdlib logging to write to ``stream`` (default stderr).

    Stdlib records (uvicorn, alembic, httpx) go through the same processors as
    structlog events, SecretMasker included, and come out in the same format.
    """
    number = level_number(level)
    out = stream if stream is not None else _CurrentStderr()
    renderer: Any = (structlog.processors.JSONRenderer() if json
                     else structlog.dev.ConsoleRenderer(colors=out.isatty(),
                                                        exception_formatter=structlog.dev.plain_traceback))
    masker = SecretMasker(secret_values)
    structlog.configure(
        processors=[*_common_processors(), structlog.processors.StackInfoRenderer(),
                    structlog.processors.format_exc_info, masker, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(number, out, masker, renderer)


def _common_processors() -> list[Any]:
    return [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True)]


def _route_stdlib(number: int, out: Any, masker: SecretMasker, renderer: Any) -> None:
    """Send stdlib records through structlog's processors (masking last but one)."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_common_processors(), structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, masker, renderer],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(number)
    # uvicorn's default config gives its loggers their own plain-text handlers and stops
    # propagation; left in place (an earlier in-process server), they would bypass masking.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        library = logging.getLogger(name)
        for old in library.handlers[:]:
            library.removeHandler(old)
        library.propagate = True
    # Alembic logs its context and each revision at INFO on every start; only debug wants that.
    logging.getLogger("alembic").setLevel(logging.NOTSET if number <= logging.DEBUG
                                          else max(number, logging.WARNING))


__all__ = ["REDACTED", "SecretMasker", "configure_logging", "level_number"]
