"""Register an existing HTTP endpoint as a tool from a description, without writing Python.

The description (``HttpToolSpec``, one ``[[tools.http]]`` table in
``baton.toml``) gives a flat JSON Schema for the arguments; it becomes a
pydantic model, so plans calling the tool are validated like any other. A call
sends the arguments as JSON (as the query string for GET/HEAD/DELETE, after the
URL's own query; objects as their JSON text) with the step's idempotency key,
through the same transport as ``http.request``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .builtin.http import (
    READ_METHODS,
    SECRET_REF,
    HttpMethod,
    HttpResponse,
    send,
)
from .builtin.http_headers import header_name_problem, header_value_problem
from .endpoint_schema import model_from_schema
from .errors import ToolDefinitionError, ToolError
from .url_credentials import hide_url_credentials
from .registry import ToolRegistry
from .retry import RetryPolicy
from .secret_names import REFERENCE_START, broken_reference_problem, secret_name_problem
from .spec import Effect, ToolContext, ToolSpec
from .value_kinds import strictness_said

_QUERY_METHODS = frozenset({"GET", "HEAD", "DELETE"})
# Every endpoint tool sends data to its URL: the egress rules find such tools by these tags,
# so a table's own tags are added to them, never put in their place.
ENDPOINT_TAGS = ("egress", "network")


class TableRetryPolicy(RetryPolicy):
    """A :class:`RetryPolicy` as a table writes it: numbers only, strictly (``"5"`` and
    ``true`` are not read as 5 and 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class HttpToolSpec(BaseModel):
    """How to call one HTTP endpoint as a tool (a ``[[tools.http]]`` table).

    Strict: a boolean or a number of the table is a TOML boolean or number, never a string
    or another type read loosely as one (``idempotent = "no"`` was true). Only the fields a
    TOML value cannot hold as is are converted (marked ``strict=False``): an array becomes
    a tuple, a string an :class:`Effect`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: str = Field(description="Tool name, e.g. 'crm.lookup'.")
    url: str = Field(pattern=r"^https?://", description="Endpoint URL (http or https).")
    method: HttpMethod = Field(default="POST", description="HTTP method.")
    description: str = Field(min_length=1, description="What the tool does, for the planner.")
    input_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="Flat JSON Schema (type object) of the arguments.",
    )
    output_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema of the JSON response; unset: the raw response."
    )
    effect: Effect | None = Field(
        default=None, strict=False,
        description="read or write; unset: read for GET/HEAD, write otherwise.",
    )
    idempotent: bool = Field(default=False, description="Calling twice with one key is safe.")
    secrets: tuple[str, ...] = Field(default=(), strict=False,
                                     description="Secret names the headers use.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Fixed headers; values may use ${secret:NAME}."
    )
    timeout_s: float = Field(default=30.0, gt=0, le=600, description="Per-attempt time limit.")
    retry: TableRetryPolicy | None = Field(default=None,
                                           description="Retry policy; unset: default.")
    tags: tuple[str, ...] = Field(
        default=(), strict=False,
        description="Labels for policy, added to egress and network (always carried).",
    )
    max_response_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1,
        description="Larger responses are refused; unset in baton.toml: http_max_response_bytes.",
    )

    @field_validator("retry", mode="before")
    @classmethod
    def _policy_built_in_python(cls, retry: Any) -> Any:
        # A RetryPolicy object was checked when it was built: its fields are taken as they are.
        if isinstance(retry, RetryPolicy) and not isinstance(retry, TableRetryPolicy):
            return TableRetryPolicy.model_validate(retry.model_dump())
        return retry

    @field_validator("url")
    @classmethod
    def _callable_url(cls, url: str) -> str:
        problem = endpoint_url_problem(url)
        if problem:
            raise ValueError(problem)
        return url


def endpoint_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be called as written, if it cannot (never echoing the URL: it may
    hold a password)."""
    if REFERENCE_START in url:  # a whole reference or not, it would be sent as written
        return ("${secret:NAME} is filled in headers only: in url it would be sent as written; "
                "send the secret in a header")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        return "holds a space or control character; percent-encode it (%20)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError:
        # Not the parser's message: it quotes the text it read as the port, and when a
        # password holds a "/" that text is the start of the password.
        return ("cannot be parsed: its port is not a number from 0 to 65535, or its brackets "
                "do not close (percent-encode a '/', '@' or ':' in a user name or password)")
    if not parts.hostname:
        return "names no host (write https://HOST/PATH)"
    return None


def _model_prefix(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", ".").split(".") if part)


def register_http_tool(registry: ToolRegistry, **options: Any) -> ToolSpec:
    """Register an HTTP endpoint as a tool; ``options`` are the fields of :class:`HttpToolSpec`."""
    return _register(registry, _parse_spec(options, where=str(options.get("name", "http tool"))))


def _secret_problems(spec: HttpToolSpec) -> list[str]:
    """Secrets the table cannot send: unlisted, or named so that no reference fills them."""
    problems = [f"secrets: {problem}" for name in spec.secrets
                for problem in [secret_name_problem(name)] if problem]
    # A "${secret:" no reference matches ("${secret:MY TOKEN}") went out as written.
    problems.extend(f"header {header!r} {problem}" for header, value in spec.headers.items()
                    for problem in [broken_reference_problem(value)] if problem)
    problems.extend(f"header {header!r} uses secret {ref!r}, which is not listed in secrets"
                    for header, value in spec.headers.items()
                    for ref in SECRET_REF.findall(value) if ref not in spec.secrets)
    return problems


def _register(registry: ToolRegistry, spec: HttpToolSpec) -> ToolSpec:
    problems = _secret_problems(spec)
    problems.extend(f"header {header!r} {problem}" for header in spec.headers
                    for problem in [header_name_problem(header)] if problem)
    # A secret stands in as a letter: "Bearer ${secret:T}" does not end with a space.
    problems.extend(f"header {header!r} holds {problem}, which no HTTP header can carry"
                    for header, value in spec.headers.items()
                    for problem in [header_value_problem(SECRET_REF.sub("s", value))] if problem)
    problems.extend(_query_clashes(spec))
    if problems:
        raise ToolDefinitionError(spec.name, problems)
    prefix = _model_prefix(spec.name)
    input_model = model_from_schema(f"{prefix}Input", spec.input_schema, tool=spec.name,
                                    forbid_extra=True)
    output_model = None
    if spec.output_schema is not None:
        output_model = model_from_schema(f"{prefix}Output", spec.output_schema, tool=spec.name,
                                         forbid_extra=False)
    return registry.register_function(
        _endpoint_caller(spec, input_model, output_model),
        name=spec.name,
        description=spec.description,
        effect=spec.effect or (Effect.READ if spec.method in READ_METHODS else Effect.WRITE),
        idempotent=spec.idempotent,
        sends_idempotency_key=True,  # send() puts context.idempotency_key on every request
        timeout_s=spec.timeout_s,
        retry=None if spec.retry is None else RetryPolicy(**spec.retry.model_dump()),
        secrets=spec.secrets,
        tags=tuple(dict.fromkeys((*ENDPOINT_TAGS, *spec.tags))),
        input_model=input_model,
        output_model=output_model or HttpResponse,
        endpoint_url=spec.url,
    )


def _query_clashes(spec: HttpToolSpec) -> list[str]:
    """Properties a query-string method would send under a name the URL's query already has."""
    properties = spec.input_schema.get("properties")
    if spec.method not in _QUERY_METHODS or not isinstance(properties, dict):
        return []
    in_url = {name for name, _ in parse_qsl(urlsplit(spec.url).query, keep_blank_values=True)}
    return [f"property {name!r} is also a query parameter of url; a {spec.method} endpoint "
            "sends its arguments in the query string, so rename the property or drop the "
            "parameter from url" for name in properties if name in in_url]


def _endpoint_caller(
    spec: HttpToolSpec, input_model: type[BaseModel], output_model: type[BaseModel] | None
) -> Any:
    async def call(args: Any, context: ToolContext) -> Any:
        """Call the endpoint with the arguments."""
        payload = args.model_dump(mode="json", by_alias=True, exclude_unset=True)
        as_query = spec.method in _QUERY_METHODS
        response = await send(
            method=spec.method, url=spec.url, headers=spec.headers, context=context,
            max_response_bytes=spec.max_response_bytes, query=payload if as_query else None,
            json_body=None if as_query else payload, send_json=not as_query,
            timeout_s=spec.timeout_s,
        )
        if output_model is None:
            return response
        if response.json_ is None:
            raise ToolError(
                f"{spec.name}: {hide_url_credentials(spec.url)} did not answer with a JSON "
                "object (an application/json body; NaN and Infinity are not JSON), as its "
                "output_schema describes", retryable=False, code="http_output_mismatch")
        try:
            return output_model.model_validate(response.json_)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            place = ".".join(str(part) for part in first["loc"])
            # Not chained to the ValidationError: its text quotes the answer (a credential
            # echoed back, cut by pydantic to a start and an end that no whole value matches),
            # and a span's stack trace writes out every exception of the chain.
            raise ToolError(
                f"{spec.name}: {hide_url_credentials(spec.url)} answered with output that does "
                f"not fit its output_schema: {exc.error_count()} problem(s), first: "
                f"{place + ': ' if place else ''}{first['msg']}",
                retryable=False, code="http_output_mismatch",
            ) from None

    # Annotations are set here because the models only exist at run time.
    call.__annotations__ = {"args": input_model, "context": ToolContext,
                            "return": output_model or HttpResponse}
    call.__qualname__ = f"http_endpoint[{spec.name}]"
    return call


def _parse_spec(raw: Mapping[str, Any], *, where: str) -> HttpToolSpec:
    try:
        return HttpToolSpec.model_validate(dict(raw))
    except ValidationError as exc:
        raise ToolDefinitionError(where, [
            f"{'.'.join(str(p) for p in err['loc']) or 'spec'}: {err['msg']}{strictness_said(err)}"
            for err in exc.errors()
        ]) from None


def load_http_tools(registry: ToolRegistry, specs: list[Mapping[str, Any]]) -> list[str]:
    """Register every ``[[tools.http]]`` description; returns the names added."""
    names: list[str] = []
    for index, raw in enumerate(specs):
        if not isinstance(raw, Mapping):
            raise ToolDefinitionError(f"tools.http[{index}]", ["must be a table"])
        where = f"tools.http[{index}] ({raw.get('name', 'unnamed')})"
        names.append(_register(registry, _parse_spec(raw, where=where)).name)
    return names
