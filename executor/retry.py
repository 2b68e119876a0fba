"""Whether and when to try a failed attempt again: a pure decision beside the loop that applies it.

Retryable: a ``ToolError`` whose ``retryable`` is true (timeouts, connection
errors, HTTP 429 and 5xx from ``http.request``, ``RetryableToolError``),
``asyncio.TimeoutError`` / ``TimeoutError``, and the connection errors a custom
tool lets out: ``ConnectionError`` (refused, reset, aborted, a broken pipe),
httpx's transport errors but for a request that cannot be sent at all
(``UnsupportedProtocol``, ``LocalProtocolError``), requests' ``ConnectionError`` (but its
``SSLError``), ``Timeout`` and ``ChunkedEncodingError``, and urllib's: a ``URLError`` whose
``reason`` is a connection error or a timeout, ``http.client.IncompleteRead``, and aiohttp's
``ClientConnectionError`` (refused, dropped, a connect or read timeout) but its TLS failures
(``ClientSSLError``, ``ServerFingerprintMismatch``), and its ``ClientPayloadError``; and an
``HTTPError`` 429 or 5xx, urllib's or requests', or aiohttp's ``ClientResponseError`` (each
what ``raise_for_status()`` raises), whose Retry-After is honoured as ``http.request``'s is.
Everything else fails the step at once (an ``OSError`` such as ``FileNotFoundError``, an
``HTTPError`` 404, aiohttp's ``InvalidURL``). The jitter comes from a generator seeded by
``run:step:attempt``, so a replay of the same run waits exactly as long.

A timeout, or a connection that failed once it was made, leaves the outcome
unknown (see :func:`outcome_unknown`); after one, a write that is not idempotent
is not called again (:func:`unsafe_repeat`), whatever the retry policy says.
"""

from __future__ import annotations

import asyncio
import random
import sys
from dataclasses import dataclass

from tools import Effect, RetryPolicy, ToolError
from tools.builtin.http import parse_retry_after
from tools.errors import retry_after_problem

from .telemetry import error_message


@dataclass(frozen=True)
class RetryDecision:
    """Try again after ``delay_s`` seconds, for ``reason``."""

    delay_s: float
    reason: str


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` is transient by Baton's rules."""
    if isinstance(error, ToolError):
        return bool(error.retryable)
    return isinstance(error, asyncio.TimeoutError | TimeoutError | ConnectionError) or (
        _httpx_transient(error) is not None) or _library_transient(error) is not None


def transient_code(error: BaseException) -> str | None:
    """The code recorded for an error a tool let out that :func:`is_retryable` counts as
    transient: ``timeout``, ``connection_error``, or for an ``HTTPError`` (or aiohttp's
    ``ClientResponseError``) 429 or 5xx ``http_<status>`` as ``http.request`` records it (None
    for any other error, and for a ``ToolError``, which carries its own). aiohttp's timeouts
    (``ServerTimeoutError`` and its connect and read kinds) are ``TimeoutError``s."""
    if isinstance(error, ToolError) or not is_retryable(error):
        return None
    status = _http_error_status(error)
    if status is not None:
        return f"http_{status}"
    httpx = sys.modules.get("httpx")
    urllib_error = sys.modules.get("urllib.error")
    if isinstance(error, asyncio.TimeoutError | TimeoutError) or (
            httpx is not None and isinstance(error, httpx.TimeoutException)) or (
            "Timeout" in _requests_names(error)) or (
            urllib_error is not None and isinstance(error, urllib_error.URLError)
            and isinstance(getattr(error, "reason", None), TimeoutError)):
        return "timeout"
    return "connection_error"


def outcome_unknown(error: BaseException) -> bool:
    """Whether a failed call may have had its effect all the same: it timed out, or its
    connection failed once it was made.

    The attempt's deadline cut the tool off (a sync tool may even still be
    running in its thread), or a ``TimeoutError`` came out of it, or a connection
    was reset or dropped with the request perhaps delivered. A connection never made
    (refused, or not made in time) sent nothing. A ``ToolError`` the tool raises as
    retryable is its own word that a retry is safe (a refused connection, a 429 or
    503; the HTTP tools also send the step's key with every request); any other
    exception (``tool_crashed``) is never retried. Of the errors other client libraries
    raise (see :func:`_library_transient`), only a connection refused or not made in time
    (aiohttp's ``ClientConnectorError`` and ``ConnectionTimeoutError``, a ``TimeoutError``
    that is no read timed out) and a 429 surely sent nothing: a 5xx a custom tool lets out,
    with no word of its own, may come after the service did part of the work.
    """
    if isinstance(error, ConnectionRefusedError):
        return False
    httpx_error = _httpx_transient(error)
    if httpx_error is not None:
        return httpx_error == "sent"
    library_error = _library_transient(error)
    if library_error is not None:
        return library_error == "sent"
    return isinstance(error, asyncio.TimeoutError | TimeoutError | ConnectionError)


def _httpx_transient(error: BaseException) -> str | None:
    """For one of httpx's transport errors that a retry may cure: ``"unsent"`` when no
    connection was made (nothing was sent), ``"sent"`` when the request may have gone out;
    None for any other error.

    httpx is looked up, not imported: an error of its types can only exist once a tool
    imported it, and a run of tools that never do does not pay for its import."""
    httpx = sys.modules.get("httpx")
    if httpx is None or not isinstance(error, httpx.TransportError):
        return None
    if isinstance(error, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return None  # the request itself cannot be sent: the same again fails the same way
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return "unsent"
    return "sent"


_REQUESTS_TRANSIENT = frozenset({"ConnectionError", "Timeout", "ChunkedEncodingError"})


def _names_in(error: BaseException, module: str) -> frozenset[str]:
    """The names of the classes of ``module`` that ``error`` is one of (in its class's MRO)."""
    return frozenset(getattr(cls, "__qualname__", "") for cls in type(error).__mro__
                     if getattr(cls, "__module__", None) == module)


def _requests_names(error: BaseException) -> frozenset[str]:
    """The names of the classes of ``requests.exceptions`` that ``error`` is one of.

    Known by module and name in its class's MRO, never imported: requests is no dependency
    of Baton's, and an error of its types can only exist once a tool imported it."""
    return _names_in(error, "requests.exceptions")


def _aiohttp_names(error: BaseException) -> frozenset[str]:
    """The names of the classes of ``aiohttp.client_exceptions`` that ``error`` is one of,
    known as requests' are (aiohttp is no dependency of Baton's own: a tool brings it)."""
    return _names_in(error, "aiohttp.client_exceptions")


# A TLS handshake or certificate refused, or a pinned fingerprint that does not match, fails
# the same way again; ClientConnectorError's other kinds (refused, unreachable, an unresolved
# name, a proxy refused) may not.
_AIOHTTP_LASTING = frozenset({"ClientSSLError", "ServerFingerprintMismatch"})
# Raised before the request went out: no connection was made, or not in time.
_AIOHTTP_UNSENT = frozenset({"ClientConnectorError", "ConnectionTimeoutError"})


def _aiohttp_transient(names: frozenset[str]) -> str | None:
    """For an aiohttp error of the classes ``names`` (see :func:`_aiohttp_names`) that a retry
    may cure: ``"unsent"`` when no connection was made (``ClientConnectorError``, whatever its
    ``os_error``, and ``ConnectionTimeoutError``), ``"sent"`` for its other
    ``ClientConnectionError``s (``ClientOSError``, ``ServerDisconnectedError``, a read
    timeout) and a ``ClientPayloadError`` (a body cut short); None for any other error, its
    TLS failures and ``InvalidURL`` among them."""
    if not names & {"ClientConnectionError", "ClientPayloadError"} or names & _AIOHTTP_LASTING:
        return None
    return "unsent" if names & _AIOHTTP_UNSENT else "sent"


def _never_connected(error: BaseException) -> bool:
    """Whether a requests ``ConnectionError`` is urllib3's failure to open the connection at
    all (refused, no route, a name that does not resolve, not made in time), which sent
    nothing: requests wraps it in a ``MaxRetryError`` whose ``reason`` it is. Known by module
    and name, as requests' own classes are: urllib3 is never imported here."""
    wrapped = error.args[0] if error.args else None
    reason = getattr(wrapped, "reason", wrapped)
    return any(getattr(cls, "__module__", None) == "urllib3.exceptions"
               and getattr(cls, "__qualname__", "") == "ConnectTimeoutError"
               for cls in type(reason).__mro__)


def _http_reply(error: BaseException) -> tuple[object, object] | None:
    """(status, headers) of the reply an HTTP error stands for: urllib's ``HTTPError``,
    requests' ``HTTPError`` (what ``raise_for_status()`` raises) with its response, or
    aiohttp's ``ClientResponseError`` (what its ``raise_for_status()`` raises, carrying the
    reply's status and headers); None for any other error."""
    urllib_error = sys.modules.get("urllib.error")
    if urllib_error is not None and isinstance(error, urllib_error.HTTPError):
        return getattr(error, "code", None), getattr(error, "headers", None)
    if "HTTPError" in _requests_names(error):
        response = getattr(error, "response", None)
        return getattr(response, "status_code", None), getattr(response, "headers", None)
    if "ClientResponseError" in _aiohttp_names(error):
        return getattr(error, "status", None), getattr(error, "headers", None)
    return None


def _http_error_status(error: BaseException) -> int | None:
    """The status of urllib's or requests' ``HTTPError``, or aiohttp's ``ClientResponseError``,
    when it is a 429 or 5xx (None otherwise)."""
    reply = _http_reply(error)
    status = reply[0] if reply is not None else None
    if not isinstance(status, int) or isinstance(status, bool):
        return None
    return status if status == 429 or 500 <= status <= 599 else None


def _library_transient(error: BaseException) -> str | None:
    """For an error of the ``requests`` library, aiohttp's or the standard library's urllib
    that a retry may cure: ``"unsent"`` when the request surely was not served (a connection
    refused or not made in time, a 429), ``"sent"`` when it may have been; None for any other
    error.

    requests: ``ConnectionError`` (derived from ``OSError``, not from the builtin
    ``ConnectionError``) but ``SSLError`` (a certificate refused is refused again),
    ``Timeout`` and ``ChunkedEncodingError``. urllib: a ``URLError`` whose ``reason`` is a
    connection error or a timeout (``urlopen`` wraps what failed while sending), an
    ``IncompleteRead``, and an ``HTTPError`` 429 or 5xx. (``RemoteDisconnected`` is a
    ``ConnectionResetError`` already.) aiohttp: see :func:`_aiohttp_transient`, and a
    ``ClientResponseError`` 429 or 5xx. No exception's cause or context is looked into."""
    status = _http_error_status(error)
    if status is not None:
        return "unsent" if status == 429 else "sent"
    names = _requests_names(error)
    if names:
        if not names & _REQUESTS_TRANSIENT or "SSLError" in names:
            return None
        return "unsent" if "ConnectTimeout" in names or _never_connected(error) else "sent"
    aiohttp_names = _aiohttp_names(error)
    if aiohttp_names:
        return _aiohttp_transient(aiohttp_names)
    urllib_error = sys.modules.get("urllib.error")
    if urllib_error is not None and isinstance(error, urllib_error.URLError) and not (
            isinstance(error, urllib_error.HTTPError)):
        reason = getattr(error, "reason", None)
        if isinstance(reason, ConnectionRefusedError):
            return "unsent"
        return "sent" if isinstance(reason, ConnectionError | TimeoutError) else None
    http_client = sys.modules.get("http.client")
    if http_client is not None and isinstance(error, http_client.IncompleteRead):
        return "sent"
    return None


def _retry_after(error: BaseException) -> object:
    """The wait ``error`` asks for before a retry: its ``retry_after_s`` (a ``ToolError``'s,
    or one a tool set on any error), else for urllib's or requests' ``HTTPError`` or aiohttp's
    ``ClientResponseError`` 429 or 5xx its ``Retry-After`` header read as ``http.request``
    reads it; None when it asks for none."""
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None or _http_error_status(error) is None:
        return retry_after
    try:
        header = _http_reply(error)[1].get("Retry-After")  # type: ignore[index,union-attr]
    except Exception:  # noqa: BLE001 - no headers, or headers of a shape of its own
        return None
    return parse_retry_after(header) if isinstance(header, str) else None


def unsafe_repeat(error: BaseException, *, tool: str, effect: Effect, idempotent: bool,
                  sends_key: bool) -> str | None:
    """Why a retryable ``error`` must not be retried (None: a retry is safe).

    A call that writes, may have had its effect (:func:`outcome_unknown`) and whose
    tool neither is idempotent nor sends the step's key to the service it calls
    (``ToolSpec.sends_idempotency_key``: ``http.request`` and ``[[tools.http]]``
    tools, or a tool registered with ``sends_idempotency_key=True``) could do its
    effect twice. No retry policy, the step's or the tool's, overrides this.
    """
    if not outcome_unknown(error) or effect is not Effect.WRITE or idempotent or sends_key:
        return None
    return f"not retried: {tool} is not idempotent, the first call may still have its effect"


def no_call_after_interruption(interrupted: bool, called: bool, tries: int, policy: RetryPolicy,
                               *, tool: str, effect: Effect, idempotent: bool,
                               sends_key: bool) -> str | None:
    """Why a step taken over with its last attempt ``interrupted`` (its owner died with the
    call in flight) must not be called again now (None: it may, with the same key).

    The call in flight is made again once whatever the budget (a crash is not the call's
    failure: resuming where the run stopped is the point), but interrupted attempts whose
    call may have been made spend the budget like failed ones (``tries`` counts both; a
    retry cut short while it waited out its backoff never called and spends nothing), and
    once they are more than ``max_attempts`` the step fails: a call that kills its worker
    each time (a native crash, the OOM killer) is not made again once per lease, forever.
    And an interrupted
    call's outcome is as unknown as a timed-out one's, so a write that neither is
    idempotent nor sends the step's key is not repeated blindly (see
    :func:`unsafe_repeat`), unless the call was surely never made (``called`` false: a
    retry whose owner died while it waited out its backoff). A person resuming the failed
    run resets the budget and calls it again deliberately.
    """
    if not interrupted:
        return None
    if tries > policy.max_attempts:
        return (f"interrupted {tries} times (its owner stopped with the call in flight); "
                f"not called again: more than max_attempts {policy.max_attempts}")
    if called and effect is Effect.WRITE and not idempotent and not sends_key:
        return (f"interrupted (its owner stopped with the call in flight); not called again: "
                f"{tool} is not idempotent, the first call may have had its effect")
    return None


def backoff_s(attempt: int, policy: RetryPolicy) -> float:
    """The un-jittered wait after failed attempt number ``attempt`` (1-based)."""
    return min(policy.max_backoff_s, policy.initial_backoff_s * policy.multiplier ** (attempt - 1))


def decide(error: BaseException, attempt: int, policy: RetryPolicy, *, seed: str) -> RetryDecision | None:
    """None to give up; otherwise how long to wait before attempt ``attempt + 1``.

    ``attempt`` is the number of the attempt that just failed (1-based). A
    ``Retry-After`` the error carries wins over the backoff when it is longer,
    up to ``max_backoff_s``, the bound on any single wait: a server that asks
    for a longer wait (an hour, or forever) is not retried; the step fails now
    instead of holding its run for that long (:func:`retry_after_refusal` says so).
    """
    if not is_retryable(error):
        return None
    if attempt >= policy.max_attempts:
        return None
    if retry_after_refusal(error, attempt, policy) is not None:
        return None
    base = backoff_s(attempt, policy)
    spread = base * policy.jitter
    delay = base - spread + random.Random(seed).random() * 2 * spread if spread else base
    delay = max(0.0, min(delay, policy.max_backoff_s))
    reason = f"{type(error).__name__}: {error_message(error)}"  # a tool's __str__ may raise
    retry_after = _retry_after(error)
    if retry_after is not None and retry_after > delay:
        return RetryDecision(delay_s=float(retry_after),
                             reason=f"{reason} (Retry-After {retry_after:g}s)")
    return RetryDecision(delay_s=delay, reason=reason)


def retry_after_refusal(error: BaseException, attempt: int, policy: RetryPolicy) -> str | None:
    """Why ``error``'s Retry-After ends its step at once rather than the retry it would have
    had (None: it does not), for the step's error: a wait over ``max_backoff_s``, or a
    ``retry_after_s`` that is no number of seconds (set on the error after it was made,
    past the check :class:`~tools.ToolError` makes; see ``tools.errors``).

    Said for every tool: ``http.request`` names the header in its message, a custom tool's
    ``RetryableToolError`` may not.
    """
    retry_after = _retry_after(error)
    if retry_after is None or not is_retryable(error) or attempt >= policy.max_attempts:
        return None
    problem = retry_after_problem(retry_after)
    if problem is not None:
        return f"not retried: its {problem}"
    if retry_after > policy.max_backoff_s:
        return (f"not retried: Retry-After {retry_after:g}s is over max_backoff_s "
                f"{policy.max_backoff_s:g}")
    return None


def effective_policy(step_policy: RetryPolicy | None, tool_policy: RetryPolicy) -> RetryPolicy:
    """A step's own retry policy when it has one, else its tool's."""
    return step_policy if step_policy is not None else tool_policy
