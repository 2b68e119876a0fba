"""``http.request``: one HTTP call, with the run's idempotency key, a body cap and typed errors.

The transport (:func:`send`) is shared with tools registered from an HTTP
endpoint description (``tools.http_endpoint``). ``httpx`` is imported inside
the functions that need it so that ``import tools`` stays light.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json as jsonlib
import re
import ssl
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from ..errors import RetryableToolError, ToolError, ToolInputError
from ..redaction import CUT_MARK, redact
from ..url_credentials import hide_url_credentials, url_secrets
from ..retry import RetryPolicy
from ..secret_names import SECRET_REFERENCE, broken_reference_problem
from ..spec import Effect, ToolContext
from .http_body import ACCEPT_ENCODING, EXCERPT_CHARS, decode_body, read_capped
from .http_headers import HEADER_NAME_SCHEMA, header_name_problem, header_value_problem

if TYPE_CHECKING:
    import httpx

    from ..registry import ToolRegistry

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT_S = 30.0
READ_METHODS = frozenset({"GET", "HEAD"})
SECRET_REF = SECRET_REFERENCE  # the one syntax of tools.secret_names

HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class HttpRequestInput(BaseModel):
    """Arguments of ``http.request``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    method: HttpMethod = Field(
        default="GET", description="HTTP method; GET and HEAD read, the others write."
    )
    url: str = Field(
        pattern=r"^https?://", description="Absolute http:// or https:// URL to call."
    )
    headers: dict[Annotated[str, WithJsonSchema(HEADER_NAME_SCHEMA)], str] | None = Field(
        default=None,
        description=(
            "Request headers. A value may name a configured secret as ${secret:NAME}; "
            "it is filled in at call time and never appears in the plan. Not allowed, the "
            "HTTP client or the url sets them: Host, Forwarded, X-Forwarded-*, X-Real-IP "
            "and other routing headers, X-HTTP-Method-Override, Content-Length, "
            "Transfer-Encoding, Connection, Keep-Alive, Upgrade, TE, Trailer, Proxy-*."
        ),
    )
    query: dict[str, str | int | float | bool] | None = Field(
        default=None,
        description="Query-string parameters added after the URL's own ones "
        "(a name may not be in both).",
    )
    json_: Any = Field(
        default=None, alias="json", description="JSON body to send (sets Content-Type)."
    )
    body: str | None = Field(default=None, description="Raw text body; not together with json.")
    timeout_s: float | None = Field(
        default=None, gt=0, le=600,
        description="Seconds the whole call may take, body included; default 30.",
    )

    @field_validator("headers")
    @classmethod
    def _sendable_names(cls, headers: dict[str, str] | None) -> dict[str, str] | None:
        for name, value in (headers or {}).items():
            problem = header_name_problem(name)
            if problem is not None:
                raise ValueError(f"header {name!r} {problem}")
            # ``${secret:MY TOKEN}`` fills nothing: the call would send it as written.
            problem = broken_reference_problem(value) if isinstance(value, str) else None
            if problem is not None:
                raise ValueError(f"header {name!r} {problem}")
        return headers

    @model_validator(mode="after")
    def _one_body(self) -> HttpRequestInput:
        if self.body is not None and "json_" in self.model_fields_set:
            raise ValueError("give either json or body, not both")
        return self


class HttpResponse(BaseModel):
    """What an HTTP call returned."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    status: int = Field(description="HTTP status code, e.g. 200.")
    headers: dict[str, str] = Field(description="Response headers, names lower-cased.")
    text: str = Field(description="Response body decoded as text.")
    json_: Any = Field(
        default=None, alias="json", description="Parsed body when the response is JSON, else null."
    )
    url: str = Field(description="Final URL that was called, query string included.")


def effect_of_request(args: Mapping[str, Any]) -> Effect:
    """``read`` for GET/HEAD, ``write`` for anything else (an unreadable method counts as write)."""
    method = args.get("method", "GET")
    if isinstance(method, str) and method.upper() in READ_METHODS:
        return Effect.READ
    return Effect.WRITE


def timeout_of_request(args: Mapping[str, Any]) -> float | None:
    """The ``timeout_s`` an ``http.request`` call asks for; None when it gives none (the
    default 30 s is within the tool's 60 s, and a step's lower limit must still hold)."""
    value = args.get("timeout_s")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def resolve_secret_headers(
    headers: Mapping[str, str] | None, secrets: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Fill ``${secret:NAME}`` in header values; returns the headers and the values used.

    A missing secret is a non-retryable error that names the secret, never a value.
    """
    used: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in secrets:
            raise ToolError(
                f"header refers to secret {name!r}, which is not configured for this call",
                retryable=False,
                code="missing_secret",
            )
        used.append(secrets[name])
        return secrets[name]

    resolved = {key: SECRET_REF.sub(fill, value) for key, value in (headers or {}).items()}
    return resolved, used


def _refuse_unsendable_headers(written: Mapping[str, str] | None,
                               resolved: Mapping[str, str]) -> None:
    """A header no request may carry is a final error naming the header, never the value.

    The HTTP client refused a bad value quoting it as bytes (``b'Bearer tok…\\n'``), a form
    no masking matched, and a bad name (``X Bad``) alike, and the error was taken for a
    transport failure and retried. Names are checked here too, not only in the input
    model: this is the one way out for every caller of :func:`send`.
    """
    for name, value in resolved.items():
        problem = header_name_problem(name)
        if problem is not None:
            raise ToolError(f"header {name!r} {problem}", retryable=False, code="http_bad_header")
        problem = header_value_problem(value)
        if problem is None:
            continue
        used = SECRET_REF.findall((written or {}).get(name, ""))
        source = f" (it uses secret {', '.join(map(repr, used))})" if used else ""
        raise ToolError(f"header {name!r} holds {problem}, which no HTTP header can carry"
                        f"{source}", retryable=False, code="http_bad_header")


# RFC 9110 delta-seconds is digits; a decimal or exponent is read too, never a word ("inf").
_SECONDS = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
RETRY_AFTER_TOO_LONG_S = sys.float_info.max
"""What :func:`parse_retry_after` gives for a wait too long for a float (``9`` × 400, ``1e400``):
still a wait, longer than any ``max_backoff_s``, so the step ends saying so."""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    None when there is no header or it is unreadable (a word, a date no calendar holds, an
    offset of a billion hours): it is then ignored. A number of seconds too large for a
    float is :data:`RETRY_AFTER_TOO_LONG_S`, not ignored: the server asked for a long wait.
    """
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        seconds = float(value)  # never raises on these digits: a huge one is inf
        return min(max(0.0, seconds), RETRY_AFTER_TOO_LONG_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a year or offset past C's int
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def status_error(status: int, reason: str, url: str, body: str, retry_after: str | None,
                 secret_values: list[str], *, body_left_out: str | None = None) -> ToolError | None:
    """The error an HTTP status stands for: None for 1xx-3xx, retryable for 429 and 5xx.

    ``body_left_out`` says why a body that could not be decoded is not quoted: the status,
    not its body, decides whether the call is retried.
    """
    if status < 400:
        return None
    # The reason phrase is the server's text as much as the body is: one echoing the request
    # line or a header carried a short URL secret or a token into the error, unmasked.
    excerpt = _excerpt(body, secret_values)
    head = f"HTTP {status} {_excerpt(reason, secret_values)}".rstrip()
    message = f"{head} from {url}" + (f": {excerpt}" if excerpt else "")
    if body_left_out is not None:
        message += f" (body not shown: {body_left_out})"
    if status == 429 or status >= 500:
        wait_s = parse_retry_after(retry_after)
        if wait_s is not None:  # named: a wait longer than the retry policy allows ends the step
            message += f" (Retry-After {wait_s:g}s)"
        return ToolError(message, retryable=True, retry_after_s=wait_s, code=f"http_{status}")
    return ToolError(message, retryable=False, code=f"http_{status}")


def _excerpt(text: str, secret_values: list[str]) -> str:
    """A server's ``text`` for an error message: masked, on one line, cut and marked."""
    # Mask before cutting: a secret across the cut would otherwise leave its first half. Only
    # this call's secrets are known here: the cut is marked, so that the run, masking the
    # error with every configured secret, masks the start of another one cut there too.
    masked = redact(text, secret_values)
    excerpt = masked[:EXCERPT_CHARS].replace("\n", " ").strip()
    if excerpt and len(masked) > EXCERPT_CHARS:
        excerpt += CUT_MARK
    return excerpt


async def send(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    context: ToolContext,
    max_response_bytes: int,
    query: Mapping[str, Any] | None = None,
    json_body: Any = None,
    send_json: bool = False,
    text_body: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> HttpResponse:
    """Make one HTTP call with the idempotency key; translate transport and status failures."""
    resolved, secret_values = resolve_secret_headers(headers, context.secrets)
    _refuse_unsendable_headers(headers, resolved)
    # A password or token written into the URL is a secret too: never in this call's errors,
    # however short (only its own messages are masked, so nothing else is corrupted).
    secret_values = [*secret_values, *url_secrets(url, min_length=1)]
    shown = hide_url_credentials(url)
    request = _request_options(resolved, context.idempotency_key,
                               json_body=json_body, send_json=send_json, text_body=text_body)
    started = time.perf_counter()
    response, raw, left_out = await _exchange(method, url, request, query=query,
                                              timeout_s=context.own_timeout_s(timeout_s),
                                              max_response_bytes=max_response_bytes,
                                              shown=shown, secret_values=secret_values)
    text, parsed = decode_body(response, raw)
    log.debug("http.response", method=method, url=shown, status=response.status_code,
              bytes=len(raw), body_left_out=left_out,
              elapsed_s=round(time.perf_counter() - started, 4))
    error = status_error(response.status_code, _reason(response), shown, text,
                         response.headers.get("retry-after"), secret_values,
                         body_left_out=left_out)
    if error is not None:
        raise error
    return HttpResponse(
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        text=text,
        json=parsed,
        url=hide_url_credentials(str(response.url)),
    )


def _reason(response: httpx.Response) -> str:
    """The status line's reason phrase as sent, each byte a character (latin-1).

    httpx's ``reason_phrase`` drops every byte past ASCII: a latin-1 secret echoed there
    (``pässwörd``) came out as ``psswrd``, which no masking recognised.
    """
    raw = response.extensions.get("reason_phrase")
    if isinstance(raw, bytes):
        return raw.decode("latin-1")
    return response.reason_phrase


def _request_options(headers: Mapping[str, str], idempotency_key: str, *,
                     json_body: Any, send_json: bool, text_body: str | None) -> dict[str, Any]:
    """The httpx request arguments: headers with the run's idempotency key, and the body."""
    # The executor's key wins: it is what makes a retried attempt safe to repeat.
    resolved = {k: v for k, v in headers.items() if k.lower() != "idempotency-key"}
    resolved["Idempotency-Key"] = idempotency_key
    # Only what the body reader can decode within the cap; a plan may still ask for another
    # (an answer in it then fails as http_unsupported_encoding).
    if not any(k.lower() == "accept-encoding" for k in resolved):
        resolved["Accept-Encoding"] = ACCEPT_ENCODING
    # httpx encodes a str value as ASCII: "café", or a secret such as "pässwörd", escaped as a
    # UnicodeEncodeError quoting a character of it. Latin-1 is what HTTP/1.1 carries (obs-text);
    # anything else was refused before (header_value_problem).
    sent = {k: v if v.isascii() else v.encode("latin-1") for k, v in resolved.items()}
    request: dict[str, Any] = {"headers": sent}
    if send_json:
        request["json"] = json_body
    elif text_body is not None:
        request["content"] = text_body.encode("utf-8")
    return request


def query_pairs(query: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The (name, value) pairs a query object is sent as.

    A list repeats its name (``ids=1&ids=2``); an object, or a list or object inside a
    list, travels as its compact JSON text (``filter={"a":1}``), never as Python's repr.
    Scalars are left to httpx: ``true``/``false`` for booleans, empty for null.
    """
    def scalar(value: Any) -> Any:
        if isinstance(value, dict | list):
            return jsonlib.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return value

    return [(name, scalar(item)) for name, value in query.items()
            for item in (value if isinstance(value, list) else [value])]


def _with_query(url: str, query: Mapping[str, Any] | None) -> httpx.URL:
    """``url`` with ``query`` added after its own query string, which is kept byte for byte.

    httpx's ``params=`` replaces the URL's query (an ``?api-version=`` the URL carries
    was dropped). A name in both is refused rather than sent twice or silently chosen.
    """
    import httpx

    target = httpx.URL(url)
    if not query:
        return target
    clash = sorted(set(query) & set(target.params.keys()))
    if clash:
        raise ToolInputError(f"query parameter {clash[0]!r} is also in the url's query string; "
                             "give it in one place", code="http_query_clash")
    added = str(httpx.QueryParams(query_pairs(query))).encode("ascii")
    own = target.query
    return target.copy_with(query=own + b"&" + added if own else added)


async def _exchange(method: str, url: str, request: dict[str, Any], *,
                    query: Mapping[str, Any] | None, timeout_s: float,
                    max_response_bytes: int, shown: str,
                    secret_values: list[str]) -> tuple[httpx.Response, bytes, str | None]:
    """Send the request and read the capped body (see :func:`read_capped` for what comes
    back); transport failures become tool errors."""
    import httpx

    try:
        target = _callable(_with_query(url, query), shown, secret_values)
        # httpx's timeout bounds each connect, write and read: a server trickling its body
        # byte by byte never trips it. asyncio.timeout bounds the exchange as a whole.
        async with asyncio.timeout(timeout_s), httpx.AsyncClient(
                timeout=timeout_s, follow_redirects=False, verify=_tls_context()) as client:
            async with client.stream(method, target, **request) as response:
                raw, left_out = await read_capped(response, max_response_bytes, method,
                                                   shown, secret_values)
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise RetryableToolError(f"{method} {shown} timed out after {timeout_s:g}s "
                                 f"({type(exc).__name__})",
                                 code="http_timeout") from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ToolInputError(f"cannot call {shown!r}: {redact(str(exc), secret_values)}",
                             code="http_bad_url") from exc
    except httpx.TransportError as exc:
        detail = redact(str(exc) or type(exc).__name__, secret_values)
        raise RetryableToolError(f"{method} {shown} failed: {detail}",
                                 code="http_transport") from exc
    return response, raw, left_out


def _callable(target: httpx.URL, shown: str, secret_values: list[str]) -> httpx.URL:
    """``target`` if a request can be sent to it; ``ToolInputError`` (``http_bad_url``) if not.

    httpx accepts a port past 65535 and a host such as ``xn--a.com`` that is no IDNA name, and
    the connection then failed on an ``OverflowError`` in an exception group, or an ``idna``
    error, that no handler named: the step crashed instead of failing for good.
    """
    try:
        target.host  # noqa: B018 - decodes an xn-- label, which raises for a malformed one
    except UnicodeError as exc:  # idna.IDNAError and its kinds are UnicodeErrors
        raise ToolInputError(f"cannot call {shown!r}: its host is no valid internationalized "
                             f"domain name ({redact(str(exc), secret_values)})",
                             code="http_bad_url") from exc
    if target.port is not None and not 0 < target.port <= 65535:
        raise ToolInputError(f"cannot call {shown!r}: port {target.port} is not in 1-65535",
                             code="http_bad_url")
    return target


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every call: building one costs ~90 ms (CA bundle load)."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def register_http_request(registry: ToolRegistry, *, max_response_bytes: int) -> None:
    """Add ``http.request`` to ``registry`` with the given response-size cap."""

    async def http_request(request: HttpRequestInput, context: ToolContext) -> HttpResponse:
        """Call an HTTP endpoint and return its status, headers, text and parsed JSON.

        Sends the step's idempotency key as the Idempotency-Key header. HTTP 429
        and 5xx answers fail retryably, other 4xx answers fail for good; redirects
        are returned, not followed.
        """
        return await send(
            method=request.method,
            url=request.url,
            headers=request.headers or {},
            context=context,
            max_response_bytes=max_response_bytes,
            query=request.query,
            json_body=request.json_,
            send_json="json_" in request.model_fields_set,
            text_body=request.body,
            timeout_s=request.timeout_s or DEFAULT_TIMEOUT_S,
        )

    registry.register_function(
        http_request,
        name="http.request",
        effect=Effect.WRITE,
        effect_from_args=effect_of_request,
        idempotent=False,
        sends_idempotency_key=True,  # send() puts context.idempotency_key on every request
        timeout_s=60.0,
        timeout_from_args=timeout_of_request,  # a call's own timeout_s, even past 60 s, ends it
        retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.5, max_backoff_s=30.0),
        tags=("egress", "network"),
        input_model=HttpRequestInput,
        output_model=HttpResponse,
    )
