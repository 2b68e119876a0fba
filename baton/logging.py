"""Structured logs: JSON lines on stderr for ``baton worker``/``serve``, a console view otherwise.

Every entry goes through ``SecretMasker`` last but one, so a secret value
that slips into an event, a bound id or a formatted traceback is masked
before anything is rendered, and so are a URL's credentials, however short.
What Python itself would write to stderr (a warning, a thread's uncaught
exception, an exception ignored in a finaliser) is logged the same way, and so is what a
tool writes to stdout or stderr itself, where the command installed
:mod:`baton.masked_streams` (the commands that run tools).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
import warnings
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

from tools.redaction import REDACTED, redact
from tools.url_credentials import hide_url_credentials

from . import masked_streams

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}


class SecretMasker:
    """A structlog processor replacing every known secret value with a marker, and every
    URL's credentials with ``***``."""

    def __init__(self, secret_values: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secret_values if s}, key=len, reverse=True)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values masked."""
        return tuple(self._secrets)

    def mask_text(self, text: str) -> str:
        """``text`` masked as an entry's text is."""
        return _masked(text, self._secrets)

    def __call__(self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
        """Mask secrets in every value and key (a key can be data: ``log.info("x", **row)``)."""
        return {_mask(key, self._secrets): (_mask_event(value, self._secrets) if key == "event"
                                            else _mask(value, self._secrets))
                for key, value in event_dict.items()}


# A URL as a log line writes it: an absolute one, or a request target with a query (as
# uvicorn's access log writes a request's), ending where white space does. A quote inside
# is read on (``?q=O'Brien&access_token=…``: the HTTP client sends the credential after
# it, so the policy reads the url whole too); quotes and brackets that only close it, as a
# ``repr`` writes ``{'url': '…'}``, are kept out of it (_URL_CLOSERS) so they stay shown.
_URL = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]*://[^\s`]+|/[^\s"'<>`]*\?[^\s`]+""")
_URL_CLOSERS = "\"'<>()[]{},;.:!?"


def _url_hidden(found: re.Match[str]) -> str:
    url = found.group()
    core = url.rstrip(_URL_CLOSERS)
    return hide_url_credentials(core) + url[len(core):]


def _masked(text: str, secrets: list[str]) -> str:
    """``text`` with each URL's credentials hidden (``user:***@host``, ``api_key=***``), as
    errors show them, and each secret masked.

    The credentials of a configured URL are masked as secrets only when 8 or more characters
    long (shorter ones would corrupt ordinary text everywhere); httpx logs every request's
    URL (an LLM ``base_url`` with a short password or ``?api-key=``), uvicorn every request
    target with its query, and neither knows what in them is a credential.
    """
    if "://" in text or "?" in text:
        text = _URL.sub(_url_hidden, text)
    return redact(text, secrets) if secrets else text


def _mask(value: Any, secrets: list[str]) -> Any:
    """``value``, or where the text a renderer writes for it holds a secret or a URL's
    credentials, that text masked.

    Both renderers write a string as it is and any other value (nested ones included) as its
    ``repr``: an exception's ``repr`` holds its arguments, which its ``str`` may leave out.
    """
    if isinstance(value, str):
        return _masked(value, secrets)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):  # a PIN returned as a number is the secret all the same
        return redact(value, secrets) if secrets else value
    if isinstance(value, dict):
        pairs = [(_mask(k, secrets), _mask(v, secrets)) for k, v in value.items()]
        if all(new is old for (new, _), old in zip(pairs, value, strict=True)) and all(
                new is old for (_, new), old in zip(pairs, value.values(), strict=True)):
            return value  # kept as it is (an OrderedDict, a defaultdict) when nothing is masked
        return dict(pairs)
    if isinstance(value, list | tuple):
        items = [_mask(item, secrets) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    text = _shown(value, repr)
    masked = _masked(text, secrets)  # compares escaped forms too (tools.redaction.redact)
    if masked == text and "\\\\" in text:
        # A repr doubles each backslash of the text it quotes, and so hides a secret that
        # text holds escaped (tok\/EN, written 'tok\\/EN') from masking: read with its
        # backslashes halved, and written so where that finds one.
        halved = text.replace("\\\\", "\\")
        if (masked_halved := _masked(halved, secrets)) != halved:
            masked = masked_halved
    return masked if masked != text else value


def _mask_event(value: Any, secrets: list[str]) -> Any:
    """The event: the console renderer writes a non-string one as its ``str``, JSON as its
    ``repr``; where either holds a secret, its ``str``, masked, is written by both."""
    if isinstance(value, str):
        return _masked(value, secrets)
    text = _shown(value, str)
    if _masked(text, secrets) != text or _mask(value, secrets) is not value:
        return _masked(text, secrets)
    return value


def _shown(value: Any, how: Any) -> str:
    try:
        return how(value)
    except Exception:  # noqa: BLE001 - foreign code: a value that cannot be shown is named
        return f"<{type(value).__name__} that cannot be shown>"


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing.

    Binding the stream object at configuration time breaks when it is later
    replaced and closed (test runners, CliRunner, daemonised workers).

    Where there is none (a process started with stderr closed: ``sys.stderr`` is None),
    entries are skipped: logging must not stop what is logged. A masked stderr
    (:mod:`baton.masked_streams`) is written past: entries are masked already, and are
    written whole, never held back as a line a tool has not ended.
    """

    def write(self, text: str) -> int:
        stream = _stderr()
        return len(text) if stream is None else stream.write(text)

    def flush(self) -> None:
        stream = _stderr()
        if stream is not None:
            stream.flush()

    def isatty(self) -> bool:
        stream = _stderr()
        return stream is not None and stream.isatty()


def _stderr() -> Any:
    stream = sys.stderr
    return stream.target if isinstance(stream, masked_streams.MaskedStream) else stream


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
    _route_python_reports()
    # What tools write to the streams themselves is masked as the entries are, and where
    # the entries are JSON lines it becomes entries too, the stream staying JSON lines.
    masked_streams.mask_with(masker.mask_text, masker.secrets,
                             _log_written if json else None)


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


def _route_python_reports() -> None:
    """Log warnings, uncaught thread exceptions and unraisable exceptions through the same
    processors, masked: Python's own hooks write them as plain, unmasked text on stderr (a
    tool's ``warnings.warn(f"... {token}")``, or its thread dying on an error naming it)."""
    if warnings.showwarning is not _show_warning:
        warnings.showwarning = _show_warning
    if not _is_ours(threading.excepthook, _log_thread_exception):
        threading.excepthook = functools.partial(
            _log_thread_exception, previous=_unless_default(threading.excepthook,
                                                            threading.__excepthook__))
    if not _is_ours(sys.unraisablehook, _log_unraisable):
        sys.unraisablehook = functools.partial(
            _log_unraisable, previous=_unless_default(sys.unraisablehook,
                                                      sys.__unraisablehook__))


def _is_ours(hook: Any, function: Any) -> bool:
    return isinstance(hook, functools.partial) and hook.func is function


def _unless_default(hook: Any, default: Any) -> Any:
    """The hook to call after logging: one installed by someone else (an error reporter, a
    test runner) still sees the exception; Python's default would print it unmasked."""
    return None if hook is default else hook


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """``warnings.showwarning``, logged as ``logging.captureWarnings`` would (``py.warnings``)."""
    text = warnings.formatwarning(message, category, filename, lineno, line)
    if file is not None:  # a file asked for by name is written, as Python would
        file.write(text)
        return
    logging.getLogger("py.warnings").warning("%s", text.rstrip("\n"))


def _log_written(name: str, text: str) -> None:
    """Text a tool wrote to stdout or stderr (a line or more, masked by the entry's masker):
    an entry of its own, so that JSON lines stay JSON lines. Logged at warning from stderr,
    where Python's reports go; at info from stdout, where a tool says what it does."""
    text = text.rstrip("\r\n")
    if text.strip():
        log = structlog.get_logger("baton")
        (log.warning if name == "stderr" else log.info)(f"written to {name}", text=text)


def _log_thread_exception(args: threading.ExceptHookArgs, *, previous: Any) -> None:
    if args.exc_type is not SystemExit:  # as Python's own hook: a thread's exit is no error
        structlog.get_logger("baton").error(
            "uncaught exception in a thread",
            thread=args.thread.name if args.thread is not None else None,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
    if previous is not None:
        previous(args)


def _log_unraisable(unraisable: Any, *, previous: Any) -> None:
    structlog.get_logger("baton").error(
        unraisable.err_msg or "Exception ignored in",
        object=_shown(unraisable.object, repr) if unraisable.object is not None else None,
        exc_info=(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))
    if previous is not None:
        previous(unraisable)


__all__ = ["REDACTED", "SecretMasker", "configure_logging", "level_number"]
