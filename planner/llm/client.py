"""Talking to an OpenAI-compatible endpoint: retries, response-format fallback, the exchange record.

Every request goes through the official ``openai`` SDK (imported lazily so that
``baton --help`` stays fast) with the SDK's own retries switched off: the
retry decision is :func:`retry_delay`, a pure function, and every HTTP attempt
becomes one :class:`~planner.base.ModelExchange` in the planning trace. Each
attempt is bounded as a whole by ``timeout_s`` (:mod:`planner.llm.deadline`):
the SDK only times each read, which a reply trickled in never exceeds. Each
attempt has an SDK client (and connection) of its own, closed when it ends: one
planner serves concurrent requests (the API's plan and revise), and cutting off a
late one must not close the connection another is still reading from.

Response formats are tried strongest first (``json_schema`` strict, then
``json_object``, then plain text). An endpoint that rejects one with a 400 is
remembered, per base URL and model, for the life of the client and optionally
in a small JSON file, so later plans go straight to the format that works.

The API key (and any password or token in the base URL) is masked in
everything the client builds from what the endpoint or the SDK says (error
messages, the exchange record): an endpoint may echo the ``Authorization``
header it was sent, and those texts end up stored with the plan version and
shown by the API, the web UI and the CLI. In the reply the plan is read from,
only values of at least ``MIN_GLOBAL_SECRET_LEN`` characters are masked: a
placeholder key ("ollama") is an ordinary word there. Lone surrogates in what
the endpoint says are escaped, so that it can be recorded and sent back.

Nothing configured as secret goes the other way: every message sent (goal,
feedback, earlier plan, the model's own reply sent back, the problems found in
it) has the configured secret values masked first (``LLMConfig.prompt_secrets``),
however many times escaped (arguments inside the reply's JSON are JSON text themselves),
and so has every credential written into a URL that the policy refuses
(:mod:`planner.url_literals`: ``?token=***``, the parameter's name kept, so a plan the
model copies it into is refused for it). The model's own reply sent back is read as the
planner reads it (a plan in prose whose URLs are escaped, ``https:\\/\\/…?token=…``), and
each value masking hid in it is masked in every message sent with it: the goal's words it
may have been copied from (``fetch report?token=… from the api``) show no URL.

A 200 whose body is not a chat completion (a proxy's HTML page, a JSON list, a
message without text) is a ``PlanningError`` (``endpoint_bad_reply``), recorded
like any failed exchange.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import importlib
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from planner.arg_checks import shorten
from planner.base import ModelExchange, PlanningError
from planner.plan import canonical_json
from tools.redaction import redact
from tools.url_credentials import HIDDEN

from .config import LLMConfig
from .deadline import ReplyTimeout, call_within

log = structlog.get_logger(__name__)

Messages = list[dict[str, str]]
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "structured output")


class ResponseFormat(str, enum.Enum):
    """How the reply is constrained, strongest first."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    TEXT = "text"

    def weaker(self) -> ResponseFormat | None:
        """The next format to try when the endpoint rejects this one."""
        order = list(ResponseFormat)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


@dataclass(frozen=True)
class ChatReply:
    """The parts of a chat completion the planner reads."""

    content: str | None
    refusal: str | None
    finish_reason: str | None
    fmt: ResponseFormat


def retry_delay(attempt: int, *, base_s: float, max_s: float,
                retry_after_s: float | None) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based): Retry-After wins, else doubling.

    None when the endpoint's Retry-After is over ``max_s``: a wait cut short would send the
    request again before the endpoint said it would take one, so there is no retry at all.
    """
    if retry_after_s is not None and retry_after_s >= 0:
        return retry_after_s if retry_after_s <= max_s else None
    return min(base_s * (2 ** (attempt - 1)), max_s)


def prompt_sha256(messages: Messages) -> str:
    """SHA-256 of the canonical JSON of the messages sent (a lone surrogate hashes as itself)."""
    return hashlib.sha256(canonical_json(messages).encode("utf-8", "surrogatepass")).hexdigest()


def _utf8_safe(text: str) -> str:
    """``text`` with each lone surrogate written as its escape (``\\ud800``), so UTF-8 can carry it.

    A model (or a goal from undecodable command-line bytes) can hand over such text; as it is,
    it can be neither sent, hashed nor stored in the ledger.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _without_url_literals(value: Any) -> Any:
    """``value`` (text or JSON-like data), UTF-8-safe, with each credential written into a
    URL that the policy refuses masked (:func:`planner.url_literals.masked_value`).

    Masked here, in the data a message is built from, like configured secrets: an earlier
    plan's arguments are JSON text inside the message, where a value would end at an
    escaped quote and a backslash of it would be left over.
    """
    from planner.url_literals import masked_value

    return masked_value(_utf8_safe(value) if isinstance(value, str) else value)


class CapabilityMemory:
    """Which response format each endpoint accepts, optionally persisted to a JSON file."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._known: dict[str, ResponseFormat] = {}
        if path is not None and path.is_file():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(raw, dict):
                    raise ValueError(f"a JSON {_json_kind(raw)}, not an object")
                self._known = {k: ResponseFormat(v) for k, v in raw.items()}
            except (OSError, ValueError, RecursionError) as exc:
                # A corrupt cache only costs a re-probe: it is rewritten on the next remember.
                log.warning("llm.capability_cache_unreadable", path=str(path), error=str(exc))

    def get(self, key: str) -> ResponseFormat:
        """The strongest format not known to be rejected by ``key``."""
        return self._known.get(key, ResponseFormat.JSON_SCHEMA)

    def remember(self, key: str, fmt: ResponseFormat) -> None:
        """Record that ``key`` works with ``fmt`` (and nothing stronger)."""
        self._known[key] = fmt
        if self._path is not None:
            try:
                # A fresh workspace's data directory may not exist yet: planning comes first.
                self._path.parent.mkdir(parents=True, exist_ok=True)
                self._path.write_text(
                    json.dumps({k: v.value for k, v in self._known.items()}, indent=1),
                    encoding="utf-8",
                )
            except OSError as exc:
                log.warning("llm.capability_cache_unwritable", path=str(self._path), error=str(exc))


class _Transient(Exception):
    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class _FormatRejected(Exception):
    pass


class _NotACompletion(Exception):
    """The endpoint answered 200 with something that is not a chat completion."""

    def __init__(self, kind: str, sample: str | None = None) -> None:
        super().__init__(kind)
        self.kind, self.sample = kind, sample

    def what(self, mask: Callable[[str], str]) -> str:
        """What came instead, with a short excerpt of the body (masked before it is cut, the
        cut marked)."""
        if not self.sample:
            return self.kind
        excerpt = shorten(" ".join(mask(self.sample).split()), _EXCERPT_CHARS)
        return f"{self.kind} ({excerpt!r})"


def default_client_factory(config: LLMConfig) -> Any:
    """An ``openai.OpenAI`` client for ``config`` with the SDK's own retries off."""
    import openai

    key = config.api_key.get_secret_value() if config.api_key is not None else ""
    # Local servers (Ollama, vLLM, llama.cpp) need no key, but the SDK insists on one.
    return openai.OpenAI(
        base_url=config.base_url, api_key=key or "not-needed", timeout=config.timeout_s,
        max_retries=0, http_client=openai.DefaultHttpxClient(verify=_tls_context()))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The default TLS context of the HTTP library the SDK is built on (httpx, or httpx2 in
    newer SDKs; CA bundle and ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as it reads them), built once
    per process: each attempt has a client of its own, and building the context loads the
    whole CA bundle (~50 ms of CPU per model call)."""
    import openai

    library = next(cls.__module__.split(".")[0] for cls in openai.DefaultHttpxClient.__mro__
                   if not cls.__module__.startswith("openai"))
    return importlib.import_module(library).create_ssl_context()


class ChatClient:
    """Sends chat requests with retries and format fallback, recording every attempt."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        client_factory: Callable[[LLMConfig], Any] | None = None,
        memory: CapabilityMemory | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._factory = client_factory or default_client_factory
        self.memory = memory or CapabilityMemory(config.capability_cache)
        self._sleep = sleep
        self._secrets = config.secret_values
        self._plan_secrets = config.plan_secret_values
        self._prompt_secrets = config.prompt_secret_values
        self._all_secrets = tuple(dict.fromkeys((*self._secrets, *self._prompt_secrets)))

    def mask(self, text: str) -> str:
        """``text`` with the API key and URL credentials masked (the ledger's marker instead).

        Lone surrogates are escaped too: what is masked is recorded, shown and sent back.
        """
        return redact(_utf8_safe(text), self._secrets)

    def hide(self, value: Any) -> Any:
        """``value`` (text or JSON-like data) with every configured secret value masked.

        Applied to the data a message is built from, before it is encoded and before
        anything in it is cut: a cut through a secret leaves a piece no masking recognises.
        """
        return redact(_without_url_literals(value), self._prompt_secrets)

    def hide_all(self, value: Any) -> Any:
        """``value`` with every secret value this client knows masked: the configured ones
        (:meth:`hide`) and the key and URL credentials however short (:meth:`mask`).

        For text cut before it is shown: masking the finished text would miss a secret
        the cut went through.
        """
        return redact(_without_url_literals(value), self._all_secrets)

    def outgoing(self, messages: Messages) -> Messages:
        """``messages`` as they may leave this machine: secret values masked, UTF-8-safe.

        The goal, the feedback, an earlier plan and the problems echoing its arguments can
        all hold a configured secret value; none may reach the endpoint. The planner masks
        them already (:meth:`hide`); this catches what the model's own reply sends back,
        read as the planner reads it (:func:`planner.url_literals.masked_reply`: a plan in
        prose whose URLs are escaped, ``https:\\/\\/…?token=…``). Each value masking hid in
        such a reply is masked in every message sent with it: the model may have copied it
        from the goal's words (``fetch report?token=… from the api``), which no URL shows.
        """
        from planner.url_literals import masked_reply, reply_hidden_values
        from planner.url_splices import with_splices_masked

        replies = {index: _utf8_safe(m["content"]) for index, m in enumerate(messages)
                   if m.get("role") == "assistant"}
        hidden = {value: HIDDEN for reply in replies.values()
                  for value in reply_hidden_values(reply)}
        return [{**m, "content": redact(with_splices_masked(
            masked_reply(replies[index]) if index in replies
            else _without_url_literals(m["content"]), hidden), self._prompt_secrets)}
            for index, m in enumerate(messages)]

    def complete(
        self, messages: Messages, schema: dict[str, Any], record: list[ModelExchange]
    ) -> ChatReply:
        """One completion, falling back to weaker formats the endpoint accepts."""
        messages = self.outgoing(messages)
        fmt: ResponseFormat | None = self.memory.get(self.config.endpoint_key)
        while fmt is not None:
            try:
                reply = self._with_retries(messages, schema, fmt, record)
            except _FormatRejected:
                log.info("llm.format_rejected", endpoint=self.config.shown_url, format=fmt.value)
                fmt = fmt.weaker()
                if fmt is not None:
                    self.memory.remember(self.config.endpoint_key, fmt)
                continue
            return reply
        raise PlanningError(  # unreachable in practice: plain text is never a format rejection
            self.mask(f"{self.config.describe()} accepts no response format"),
            code="endpoint_rejected",
        )

    def _with_retries(
        self, messages: Messages, schema: dict[str, Any], fmt: ResponseFormat,
        record: list[ModelExchange],
    ) -> ChatReply:
        retries = 0
        while True:
            try:
                return self._once(messages, schema, fmt, record)
            except _Transient as exc:
                if retries >= self.config.max_transport_retries:
                    raise PlanningError(
                        self.mask(f"{self.config.describe()} is unreachable after "
                                  f"{retries + 1} attempt(s): {exc}"),
                        code="endpoint_unreachable",
                    ) from None
                retries += 1
                delay = retry_delay(retries, base_s=self.config.backoff_s,
                                    max_s=self.config.max_backoff_s, retry_after_s=exc.retry_after_s)
                if delay is None:
                    raise PlanningError(
                        self.mask(f"{self.config.describe()} answered {exc} and asked to wait "
                                  f"Retry-After {exc.retry_after_s:g} s, longer than the "
                                  "planner's longest wait between retries (max_backoff_s "
                                  f"{self.config.max_backoff_s:g} s): not retried; plan again "
                                  "after that wait, or raise max_backoff_s ([llm] in baton.toml)"),
                        code="endpoint_unreachable",
                    ) from None
                log.info("llm.retry", endpoint=self.config.shown_url, retry=retries, delay_s=delay)
                self._sleep(delay)

    def _request(self, messages: Messages, schema: dict[str, Any], fmt: ResponseFormat) -> dict:
        request: dict[str, Any] = {
            "model": self.config.model, "messages": messages,
            "temperature": self.config.temperature,
        }
        if fmt is ResponseFormat.JSON_SCHEMA:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "baton_plan", "strict": True, "schema": schema},
            }
        elif fmt is ResponseFormat.JSON_OBJECT:
            request["response_format"] = {"type": "json_object"}
        return request

    def _once(
        self, messages: Messages, schema: dict[str, Any], fmt: ResponseFormat,
        record: list[ModelExchange],
    ) -> ChatReply:
        base = {"model": self.config.model, "endpoint": self.config.shown_url,
                "prompt_sha256": prompt_sha256(messages), "response_format": fmt.value}
        request = self._request(messages, schema, fmt)
        # This attempt's own client, built outside the try (a bad configuration is not a
        # transport error): closing it, late or not, touches no other request's connection.
        client = self._factory(self.config)
        started = time.perf_counter()
        try:
            # The SDK times each read, not the request: a trickled reply would outlast timeout_s.
            completion = call_within(self.config.timeout_s,
                                     lambda: client.chat.completions.create(**request),
                                     on_late=lambda: self._close(client))
        except Exception as exc:
            latency = (time.perf_counter() - started) * 1000
            record.append(ModelExchange(**base, latency_ms=latency, error=self.mask(_describe(exc))))
            raise self._translate(exc, fmt) from exc
        finally:
            self._close(client)  # a second close, after a late reply, does nothing
        latency = (time.perf_counter() - started) * 1000
        try:
            content, refusal, finish_reason = _reply_parts(completion)
        except _NotACompletion as exc:
            # Masked before it is cut: the body may echo the key or another secret.
            what = exc.what(self.hide_all)
            failure = self._failure(f"{self.config.describe()} replied with {what}, "
                                    "not a chat completion", "endpoint_bad_reply")
            record.append(ModelExchange(**base, latency_ms=latency, error=failure.message))
            raise failure from None
        usage = getattr(completion, "usage", None)
        # Masked: the content and refusal become the plan, its errors and the record.
        recorded = None if content is None else self.mask(content)
        content = None if content is None else redact(_utf8_safe(content), self._plan_secrets)
        refusal = None if refusal is None else self.mask(refusal)
        record.append(ModelExchange(
            **base,
            reply=recorded,
            refusal=refusal,
            finish_reason=finish_reason,
            prompt_tokens=_count(getattr(usage, "prompt_tokens", None)),
            completion_tokens=_count(getattr(usage, "completion_tokens", None)),
            latency_ms=latency,
        ))
        return ChatReply(content=content, refusal=refusal, finish_reason=finish_reason, fmt=fmt)

    def _close(self, client: Any) -> None:
        """Close one attempt's ``client``; for a late attempt this stops it at its next read."""
        try:
            client.close()
        except Exception as exc:  # best effort: the caller has already moved on
            log.warning("llm.close_failed", endpoint=self.config.shown_url, error=_describe(exc))

    def _translate(self, exc: Exception, fmt: ResponseFormat) -> Exception:
        """Map an SDK error onto: retry, fall back to a weaker format, or fail at once."""
        import openai

        if isinstance(exc, ReplyTimeout | openai.APITimeoutError | openai.APIConnectionError):
            return _Transient(self.mask(_describe(exc)))
        if isinstance(exc, ValueError) and not isinstance(exc, openai.OpenAIError):
            # The SDK could not decode a body labelled JSON (a proxy's HTML error page).
            return self._failure(f"{self.config.describe()} replied with a body that is not JSON "
                                 f"({_describe(exc)}), not a chat completion", "endpoint_bad_reply")
        if not isinstance(exc, openai.APIStatusError):
            return self._failure(f"{self.config.describe()} failed: {_describe(exc)}",
                                 "endpoint_error")
        status = exc.status_code
        if status == 429 or status >= 500 or status == 408:
            return _Transient(self.mask(_describe(exc)), _retry_after(exc))
        if status in (401, 403):
            return self._failure(
                f"{self.config.describe()} refused the credentials (HTTP {status}); "
                "check BATON_LLM_API_KEY / OPENAI_API_KEY", "endpoint_auth")
        # Masked before it is cut, every secret this client knows: one across the cut would
        # otherwise leave its first half.
        body = self.hide_all(_body_text(exc))
        if (status in (400, 422) and fmt is not ResponseFormat.TEXT
                and any(word in body.lower() for word in _FORMAT_WORDS)):
            return _FormatRejected()
        return self._failure(
            f"{self.config.describe()} rejected the request (HTTP {status}): "
            f"{shorten(body, _BODY_CHARS)}",
            "endpoint_bad_request")

    def _failure(self, message: str, code: str) -> PlanningError:
        """A planning error whose message has the key masked (it is stored and shown)."""
        return PlanningError(self.mask(message), code=code)


def _reply_parts(completion: Any) -> tuple[str | None, str | None, str | None]:
    """Content, refusal and finish reason of the first choice; ``_NotACompletion`` otherwise.

    The SDK hands back whatever a 200 carried: text for an HTML page, a list for a
    JSON list, a model built without validation for an object of the wrong shape.
    """
    if isinstance(completion, str | bytes):
        text = (completion.decode("utf-8", "replace") if isinstance(completion, bytes)
                else completion)
        kind = "an HTML page" if text.lstrip().startswith("<") else "plain text"
        raise _NotACompletion(kind, text)
    if not hasattr(completion, "choices"):
        raise _NotACompletion(f"a JSON {_json_kind(completion)}")
    choices = completion.choices
    if not isinstance(choices, list) or not choices:
        raise _NotACompletion("an object without choices")
    message = getattr(choices[0], "message", None)
    if message is None or isinstance(message, str | int | float | list | dict):
        raise _NotACompletion("a choice without a message object")
    finish_reason = getattr(choices[0], "finish_reason", None)
    finish_reason = finish_reason if isinstance(finish_reason, str) else None
    content, refusal = getattr(message, "content", None), getattr(message, "refusal", None)
    for field, value in (("content", content), ("refusal", refusal)):
        if value is not None and not isinstance(value, str):
            raise _NotACompletion(f"a message whose {field} is a JSON {_json_kind(value)}")
    if content is None and refusal is None and finish_reason not in _EMPTY_FINISHES:
        raise _NotACompletion("a message without content")
    return content, refusal, finish_reason


# Finish reasons that explain a message without content (the planner reports each).
_EMPTY_FINISHES = ("length", "content_filter")
_EXCERPT_CHARS = 120  # of a body that is not a chat completion
_BODY_CHARS = 300  # of an endpoint's refusal of a request


def _json_kind(value: Any) -> str:
    names = {list: "list", dict: "object", str: "string", bool: "boolean", type(None): "null"}
    fallback = "number" if isinstance(value, int | float) else type(value).__name__
    return names.get(type(value), fallback)


def _count(value: Any) -> int | None:
    """A token count, or None for anything else an endpoint sends there."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    return f"{name} (HTTP {status})" if status else f"{name}: {exc}"


def _body_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if body is None:
        return str(getattr(exc, "message", "") or exc)
    return body if isinstance(body, str) else json.dumps(body)


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None
