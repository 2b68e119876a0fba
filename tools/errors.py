"""Baton's error hierarchy.

The root lives in the lowest layer so that every layer above can subclass it
without importing upwards.

    BatonError                      every error Baton raises on purpose
    ├── ToolDefinitionError         a function cannot become a tool (all problems listed)
    ├── UnknownToolError            a name that no registry entry answers to
    ├── RunDeferredError            a run's admission check cannot judge it now
    └── ToolError                   a tool call failed
        ├── RetryableToolError      transient: the executor may try again
        └── ToolInputError          the arguments were rejected (never retried)

Control-flow signals (approval needed, cancelled) are not errors and do not
derive from ``BatonError``.
"""

from __future__ import annotations

import math

from .redaction import CUT_MARK


class BatonError(Exception):
    """Base class of every error Baton raises on purpose.

    ``message`` is always a plain str: one that is not (None, a number, bytes, a dict a
    service replied with) is made text when the error is made (:func:`_message_text`).
    So is ``code`` (:func:`code_text`): one that is no usable text becomes the class's own.
    """

    code: str = "baton_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        # Always a plain str: code above (a cut, the store, the ledger) treats it as text,
        # and ``raise ToolError(reply.get("error"))`` passes whatever the service sent.
        message = _message_text(message, type(self).__name__)
        super().__init__(message)
        self.message = message
        # The code too (``code=reply.get("code")``): it is stored and hashed as JSON text.
        if code is not None or not _usable(type(self).code):
            self.code = code_text(code, _class_code(type(self)))


def _message_text(message: object, error_name: str = "error") -> str:
    """``message`` as an error's text: a str as it is (a subclass as a plain str), None as
    ``<error_name> with no message``, bytes decoded (undecodable bytes escaped), anything
    else as its ``str()``, its ``repr()`` when that raises, its type's name when both do."""
    if isinstance(message, str):
        return str.__str__(message)  # a plain copy: a subclass may override slicing or str()
    if message is None:
        return f"{error_name} with no message"
    if isinstance(message, bytes | bytearray):
        return bytes(message).decode("utf-8", errors="backslashreplace")
    try:
        return _text(str(message))
    except Exception:  # noqa: BLE001 - its __str__ is broken (or an int too long to show)
        pass
    try:
        return _text(repr(message))
    except Exception as exc:  # noqa: BLE001 - named by its type alone, with why
        return (f"{type(message).__name__} message that cannot be shown as text "
                f"({type(exc).__name__})")


def _text(shown: str) -> str:
    # str() and repr() return a str or raise; a subclass of it is made plain.
    return str.__str__(shown)


CODE_MAX_CHARS = 200
"""The longest an error's code is kept, in characters: a longer one is cut to its first 199
and :data:`~tools.redaction.CUT_MARK` (a code is a short name scripts and policies match)."""


def code_text(code: object, default: str) -> str:
    """``code`` as an error's code: text JSON, UTF-8 and PostgreSQL can hold, at most
    :data:`CODE_MAX_CHARS` long.

    A str is kept (a lone surrogate or a NUL written as its escape, ``\\udce9``, ``\\x00``),
    bytes are decoded (undecodable bytes escaped), an int is written in digits. Anything else
    (a float, NaN, a bool, a set, a list, an object), an empty or blank code, or an int too long
    to be a code, is ``default``: a code is a name to match, and the ``str()`` of such a value
    is none (an address, an order that changes, a value that may hold a secret).
    """
    if isinstance(code, str):
        text = str.__str__(code)  # a plain copy: a subclass may override str()
    elif isinstance(code, bytes | bytearray):
        text = bytes(code).decode("utf-8", errors="backslashreplace")
    elif isinstance(code, int) and not isinstance(code, bool) and code.bit_length() <= 64:
        text = int.__repr__(code)  # digits, also for an IntEnum member
    else:
        return default
    if not text.strip():
        return default
    if not _usable(text):
        text = text[:CODE_MAX_CHARS + 1].encode("utf-8", "backslashreplace").decode("utf-8")
        text = text.replace("\x00", "\\x00")
    if len(text) > CODE_MAX_CHARS:
        text = text[:CODE_MAX_CHARS - len(CUT_MARK)] + CUT_MARK
    return text


def _usable(code: object) -> bool:
    """Whether ``code`` is a code as it is: non-blank text, not too long, that UTF-8 and
    PostgreSQL hold (no lone surrogate, no NUL)."""
    if type(code) is not str or not code.strip() or len(code) > CODE_MAX_CHARS:
        return False
    if "\x00" in code:
        return False
    if code.isascii():
        return True
    try:
        code.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _class_code(cls: type) -> str:
    """The code of ``cls``, or of its nearest base whose own is usable text (a subclass's
    ``code = 42`` is a bug that must not end the run recording it)."""
    for klass in cls.__mro__:
        own = klass.__dict__.get("code")
        if _usable(own):
            return own  # type: ignore[return-value]
    return BatonError.code


class ToolDefinitionError(BatonError):
    """A function could not be registered as a tool; lists every problem."""

    code = "tool_definition"

    def __init__(self, function_name: str, problems: list[str]) -> None:
        self.function_name = function_name
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"cannot register {function_name} as a tool:\n{lines}")


class UnknownToolError(BatonError):
    """No tool is registered under the requested name."""

    code = "unknown_tool"

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = list(suggestions or [])
        hint = f" (did you mean: {', '.join(self.suggestions)}?)" if self.suggestions else ""
        super().__init__(f"unknown tool {name!r}{hint}")


def retry_after_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a ``retry_after_s`` (None: nothing): it must be a finite
    number of seconds (an int or a float, not a bool), 0 or more, or None."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            if math.isfinite(value) and value >= 0:
                return None
        except OverflowError:  # an int too large to be a float: no wait anyone can make
            pass
    if isinstance(value, int) and value.bit_length() > 1024:
        shown = "int larger than any float"  # its repr may be too long to write (4,300 digits)
    else:
        try:
            text = repr(value)
        except Exception:  # noqa: BLE001 - a value whose repr raises: named by its type alone
            text = "(its repr failed)"
        shown = f"{type(value).__name__} {text if len(text) <= 60 else text[:59] + '…'}"
    return (f"retry_after_s must be a finite number of seconds, 0 or more, or None, not "
            f"{shown} (parse a Retry-After header with "
            "tools.builtin.http.parse_retry_after)")


class RunDeferredError(BatonError):
    """A run's admission check cannot judge the run now (the application's settings do not
    load): the runner leaves the run as it was, its lease given up, for the next claim once
    that is fixed. Any other error the check raises is a refusal, and ends the run failed.

    Here, in the lowest layer, so that the application's settings error can derive from it
    without importing the executor (``baton --help`` reads the settings module)."""

    code = "run_deferred"


class ToolError(BatonError):
    """A tool call failed; ``retryable`` tells the executor whether to try again.

    ``retry_after_s``: how long the service asked to wait before trying again, in seconds
    (a finite number, 0 or more), or None. Anything else (a Retry-After header's text, a
    date, NaN, a bool) is the raising code's bug: making the error raises ``TypeError`` or
    ``ValueError`` naming it, which then fails the call like any exception of a tool.
    """

    code = "tool_error"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
        code: str | None = None,
    ) -> None:
        problem = retry_after_problem(retry_after_s)
        if problem is not None:
            number = isinstance(retry_after_s, int | float) and not isinstance(retry_after_s, bool)
            raise (ValueError if number else TypeError)(problem)
        super().__init__(message, code=code)
        if retryable is not None:
            self.retryable = retryable
        self.retry_after_s = retry_after_s


class RetryableToolError(ToolError):
    """A transient failure a tool reports on purpose: the call may succeed later."""

    code = "tool_retryable"
    retryable = True


class ToolInputError(ToolError):
    """The call's arguments were refused (bad path, bad expression...): never retried."""

    code = "tool_input"
    retryable = False
