"""What a tool is: its metadata, its input and output models, and how it is called."""

from __future__ import annotations

import asyncio
import enum
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from .errors import ToolError
from .output_checks import light_fault, output_fault, size_fault
from .redaction import redact
from .url_credentials import hide_url_credentials
from .retry import RetryPolicy


@functools.cache
def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON Schema, generated once: pydantic rebuilds it on every call otherwise,
    and validation asks for every tool's schemas on every plan."""
    return model.model_json_schema()


OUTPUT_BY_ALIAS: bool | None = None
"""The ``by_alias`` an output is stored with (:meth:`ToolSpec.shape_prechecked`) and its schema
is written with (:func:`output_model_schema`): None is pydantic's default, each model by its own
``serialize_by_alias`` (``http.request``'s ``json``, a ``[[tools.http]]`` tool's property
names), every other model by its field names."""


class _StoredOutputSchema(GenerateJsonSchema):
    """Serialization-mode schemas whose property names are the keys the dump writes.

    pydantic names properties by alias in serialization mode unless told ``by_alias=False``
    for the whole schema, while a dump with ``by_alias=None`` asks each model's own
    ``serialize_by_alias``: a nested model or dataclass may differ from the one around it. A
    TypedDict is written as the model around it is, whatever its own config says.
    """

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        """A model's schema, its properties named as the dump writes this model's keys."""
        return self._named_as_dumped(schema, super().model_schema)

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> JsonSchemaValue:
        """A dataclass's schema, its properties named as the dump writes its keys."""
        return self._named_as_dumped(schema, super().dataclass_schema)

    def _named_as_dumped(self, schema: Any, generate: Callable[[Any], JsonSchemaValue],
                         ) -> JsonSchemaValue:
        if OUTPUT_BY_ALIAS is not None:
            return generate(schema)
        # The config pydantic-core serializes this model's own fields with; its nested models
        # each come through here with theirs.
        outer = self.by_alias
        self.by_alias = bool((schema.get("config") or {}).get("serialize_by_alias", False))
        try:
            return generate(schema)
        finally:
            self.by_alias = outer


@functools.cache
def output_model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of what is stored as ``model``'s output, generated once: the keys and
    values of ``model_dump(mode="json", by_alias=OUTPUT_BY_ALIAS)``, computed fields included.
    References are checked against it and the planner reads it: the validation-mode schema
    named aliases the stored output does not hold, and no computed field."""
    return model.model_json_schema(mode="serialization", by_alias=OUTPUT_BY_ALIAS,
                                   schema_generator=_StoredOutputSchema)


class Effect(str, enum.Enum):
    """Whether a call changes the world (``write``) or only looks at it (``read``)."""

    READ = "read"
    WRITE = "write"


TOOL_DEADLINE_MARGIN_S = 1.0
"""How far apart a tool's own deadline and its attempt's limit are: the executor cuts an attempt
off this long after the deadline a call declares (``timeout_from_args``), and a tool's own I/O
ends this long before the attempt's limit (:meth:`ToolContext.own_timeout_s`), so the tool's
error, which says what timed out, is the one recorded."""


@dataclass(frozen=True, kw_only=True)
class ToolContext:
    """What the executor hands a tool at call time, besides its arguments.

    A tool asks for it by declaring a parameter annotated ``ToolContext``;
    that parameter never appears in the tool's input schema, so the planner
    never sees secrets or keys. ``time_limit_s`` is the limit the executor armed for
    this attempt (None outside the executor); see :meth:`own_timeout_s`.
    """

    idempotency_key: str
    run_id: str = ""
    step_id: str = ""
    attempt: int = 1
    secrets: Mapping[str, str] = field(default_factory=dict)
    workspace: Path | None = None
    time_limit_s: float | None = None

    def own_timeout_s(self, wanted_s: float) -> float:
        """How long a tool's own I/O may wait: ``wanted_s``, cut to end a margin before the
        attempt's limit. The tool's timeout then fires first and its error, which says what
        timed out (``POST https://… timed out after 29s``), is the one recorded, rather than
        racing the executor's bare ``attempt timed out`` when both limits are equal (a
        ``[[tools.http]]`` tool's ``timeout_s``) or the step's is lower.
        """
        if self.time_limit_s is None:
            return wanted_s
        margin = min(TOOL_DEADLINE_MARGIN_S, self.time_limit_s / 10)
        return min(wanted_s, self.time_limit_s - margin)


class ToolInfo(BaseModel):
    """The public, serialisable description of a tool (CLI, API, planner, policy input)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Registered name, e.g. 'files.read'.")
    description: str = Field(description="What the tool does, as the planner sees it.")
    effect: Effect = Field(description="Default effect; some tools decide it from arguments.")
    effect_depends_on_args: bool = Field(
        default=False, description="True when the effect is decided from the call's arguments."
    )
    idempotent: bool = Field(description="Calling twice with the same key is safe.")
    sends_idempotency_key: bool = Field(
        default=False, description="Sends the step's idempotency key with every call "
        "(Idempotency-Key), so the service can drop a repeat: a write that timed out is retried.")
    timeout_s: float = Field(description="Default time limit of one attempt, in seconds.")
    timeout_depends_on_args: bool = Field(
        default=False, description="True when a call's arguments may lengthen its time limit "
        "(http.request's timeout_s).")
    retry: RetryPolicy = Field(description="Default retry policy.")
    secrets: tuple[str, ...] = Field(default=(), description="Names of secrets injected at call time.")
    tags: tuple[str, ...] = Field(default=(), description="Free-form labels policies can match.")
    region: str | None = Field(default=None, description="Where the tool's data lives, if anywhere.")
    endpoint_url: str | None = Field(
        default=None, description="The fixed URL the tool calls (configured HTTP endpoint tools); "
        "policies check its host like http.request's url. A password or token in it shows as ***.")
    input_schema: dict[str, Any] = Field(description="JSON Schema of the arguments.")
    output_schema: dict[str, Any] = Field(description="JSON Schema of the output.")


_MASKED_INFO_FIELDS = ("name", "description", "tags", "region", "endpoint_url", "input_schema",
                       "output_schema")


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """A registered tool: a typed callable plus the metadata policies and the executor use.

    ``sends_idempotency_key``: the tool passes ``context.idempotency_key`` to the service it
    calls with every call (``http.request`` sends it as ``Idempotency-Key``), so the service
    can drop a repeat; a write that timed out is then retried, which a write that neither
    sends it nor is ``idempotent`` never is (its first call may still have its effect).

    ``timeout_from_args``: the deadline one call declares from its (resolved) arguments, in
    seconds, or None for none (``http.request``'s ``timeout_s``). The executor lengthens the
    attempt's limit to it plus a small margin, so the tool's own timeout, with its clearer
    error, fires first; never beyond the 24 h every limit has.
    """

    name: str
    description: str
    fn: Callable[..., Any]
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    effect: Effect = Effect.READ
    effect_from_args: Callable[[Mapping[str, Any]], Effect | str] | None = None
    idempotent: bool = False
    sends_idempotency_key: bool = False
    timeout_s: float = 30.0
    timeout_from_args: Callable[[Mapping[str, Any]], float | None] | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    secrets: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    region: str | None = None
    # Set for configured HTTP endpoint tools: the call goes here, not to any URL in the arguments.
    endpoint_url: str | None = None
    context_param: str | None = None
    model_param: str | None = None
    field_params: tuple[tuple[str, str], ...] = ()
    wraps_value: bool = False

    def effect_of(self, args: Mapping[str, Any]) -> Effect:
        """The effect of one call: decided from its arguments when the tool says so.

        Always an :class:`Effect`: the executor and the policies compare it by identity, so an
        answer of ``"write"`` taken as it was would skip the checks a write gets. An answer
        that is no effect raises ``ValueError`` (the callers treat it as unknown, never read).
        """
        if self.effect_from_args is None:
            return self.effect
        answer = self.effect_from_args(args)
        try:
            return Effect(answer)
        except ValueError:
            # Its type only: the answer may be an argument, and arguments may hold a secret.
            raise ValueError(f"effect_from_args answered a {type(answer).__name__} "
                             "that is not 'read' or 'write'") from None

    def declared_timeout_s(self, args: Mapping[str, Any]) -> float | None:
        """The deadline one call declares from its arguments (``timeout_from_args``), if any.

        Only a positive, finite number counts: anything else (NaN, infinity, a string the
        input model will refuse) declares nothing, and the configured limit stands.
        """
        if self.timeout_from_args is None:
            return None
        declared = self.timeout_from_args(args)
        if (isinstance(declared, bool) or not isinstance(declared, int | float)
                or not 0 < declared < math.inf):
            return None
        return float(declared)

    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of the tool's arguments (shared: treat it as read-only)."""
        return model_schema(self.input_model)

    def output_schema(self) -> dict[str, Any]:
        """JSON Schema of the tool's output as stored (shared: treat it as read-only)."""
        return output_model_schema(self.output_model)

    def info(self, *, secret_values: Iterable[str] = ()) -> ToolInfo:
        """The serialisable description of this tool, ``secret_values`` masked as ``[REDACTED]``.

        Pass the configured secret values wherever the description is shown: an endpoint's
        URL may hold one that no credential name marks (a webhook's path, ``?code=``).
        """
        info = ToolInfo(
            name=self.name,
            description=self.description,
            effect=self.effect,
            effect_depends_on_args=self.effect_from_args is not None,
            idempotent=self.idempotent,
            sends_idempotency_key=self.sends_idempotency_key,
            timeout_s=self.timeout_s,
            timeout_depends_on_args=self.timeout_from_args is not None,
            retry=self.retry,
            secrets=self.secrets,
            tags=self.tags,
            region=self.region,
            endpoint_url=(None if self.endpoint_url is None
                          else hide_url_credentials(self.endpoint_url)),
            input_schema=self.input_schema(),
            output_schema=self.output_schema(),
        )
        secrets = [value for value in secret_values if value]
        if not secrets:
            return info
        # The free text only: effect, retry and timeout are typed values a short secret could
        # match inside ("ea" in "read") without revealing anything.
        masked = redact({field: getattr(info, field) for field in _MASKED_INFO_FIELDS}, secrets)
        masked["tags"] = tuple(masked["tags"])
        return info.model_copy(update=masked)

    async def invoke(self, args: Mapping[str, Any], context: ToolContext) -> dict[str, Any]:
        """Validate ``args``, call the function (sync ones in a thread) and return its JSON output.

        The caller owns the timeout; a sync tool that ignores cancellation keeps
        its thread but no longer holds up the caller. The output is shaped in a thread too:
        an output the checks do not see through (a serializer's own) may take long to write.
        """
        kwargs = self.bind(args, context)
        if self.is_async:
            return await asyncio.to_thread(self.shape, await self.fn(**kwargs))
        return await asyncio.to_thread(self.called_and_shaped, **kwargs)

    def called_and_shaped(self, **kwargs: Any) -> dict[str, Any]:
        """``fn`` called with ``kwargs`` and its output shaped: a sync tool's whole attempt, for
        the thread it runs in (see :meth:`shape`)."""
        return self.shape(self.fn(**kwargs))

    @functools.cached_property
    def is_async(self) -> bool:
        """Whether ``fn`` is a coroutine function (awaited on the loop, not run in a thread)."""
        return asyncio.iscoroutinefunction(self.fn)

    def bind(self, args: Mapping[str, Any], context: ToolContext) -> dict[str, Any]:
        """The keyword arguments for ``fn``: ``args`` validated once by the input model, plus the context."""
        parsed = self.input_model.model_validate(args if isinstance(args, dict) else dict(args))
        if self.model_param is not None:
            kwargs: dict[str, Any] = {self.model_param: parsed}
        else:
            kwargs = {param: getattr(parsed, fld) for param, fld in self.field_params}
        if self.context_param is not None:
            kwargs[self.context_param] = context
        return kwargs

    def shape(self, result: Any) -> dict[str, Any]:
        """``fn``'s return value checked against the output model, as JSON-native data.

        Its time is the attempt's, and reading it may run code of the tool's own (a computed
        field): for a tool thread, under the attempt's limit. The executor shapes a light
        output of an async tool on the event loop instead: see :meth:`prechecked`.
        """
        return self.shape_off_loop({"value": result} if self.wraps_value else result)

    def prechecked(self, result: Any) -> tuple[Any, bool]:
        """``result`` as the output model reads it, and whether it must be shaped off the event
        loop (by :meth:`shape_off_loop`, in a tool thread) rather than on it (by
        :meth:`shape_prechecked`); what :func:`light_fault` finds in it is raised as its
        ``ToolError``.

        Runs no code of the tool's own, for the event loop: an output is shaped there only
        when it is light (its model and every value in it plain, its JSON at most
        :data:`~tools.output_checks.LIGHT_OUTPUT_MAX_BYTES`: shaped in time linear in those
        bytes, and results that end together share one commit). Any other, with a validator, a
        serializer, a computed field, a class of the tool's own, or longer, is checked whole
        and shaped in a thread, under the attempt's limit.
        """
        if self.wraps_value:
            result = {"value": result}
        light, fault = light_fault(result, self.output_model)
        self._refuse(fault)
        return result, not light

    def shape_off_loop(self, result: Any) -> dict[str, Any]:
        """:meth:`shape`, for a result :meth:`prechecked` returned (as the output model reads
        it): checked whole first, code of the tool's own included, in the caller's thread."""
        # Before the output model reads it: reading and dumping it both write out a value
        # shared by several fields once for each (one list at each of 60 levels: 2**60 items),
        # and read a generator to its end, however long.
        self._refuse(size_fault(result))
        return self.shape_prechecked(result)

    def shape_prechecked(self, result: Any) -> dict[str, Any]:
        """:meth:`shape`, for a result :meth:`prechecked` found light (or
        :meth:`shape_off_loop` checked): validated, dumped and checked for what JSON cannot
        hold (:func:`output_fault`)."""
        # An instance of the model is returned as is by model_validate (no copy, no re-validation).
        output = self.output_model.model_validate(result)
        # JSON has no NaN or Infinity: stored as they were, they made run rows and the ledger
        # unreadable as JSON (pydantic's JSON mode keeps them in float fields, turns them to
        # null elsewhere). Refused like a plan document holding them, naming the field; so is
        # an output that contains itself (which no JSON can hold) and an integer too long to
        # be written as text, both found before anything tries to write them.
        try:
            dumped = output.model_dump(by_alias=OUTPUT_BY_ALIAS)
        except ValueError:
            # pydantic stops at 254 levels, models counted ("Maximum serialization depth
            # exceeded"), or at a model inside itself: the place is found in the model.
            self._refuse(output_fault(output, models=True))
            raise
        self._refuse(output_fault(dumped))
        try:
            return output.model_dump(mode="json", by_alias=OUTPUT_BY_ALIAS)
        except (ValueError, TypeError):
            # Bytes are written as UTF-8 text unless a model or serializer writes them
            # otherwise (``ser_json_bytes="base64"``), and keys as text: both are looked at
            # once writing them failed (bytes or a key not UTF-8, a frozenset key), and so is
            # a model the Python-mode dump left in it, inside itself.
            self._refuse(output_fault(dumped, as_json=True, models=True))
            raise

    def _refuse(self, fault: tuple[str, str, str] | None) -> None:
        """Raise the ``ToolError`` for a place in the output JSON cannot hold, if there is one."""
        if fault is not None:
            path, what, code = fault
            raise ToolError(f"{self.name}: output field {path} {what}", retryable=False,
                            code=code)


def validation_error_text(error: ValidationError) -> str:
    """What pydantic says of ``error`` (``1 validation error for Model``, then each problem's
    place and message, its type and the input's type), without the input values it quotes.

    A tool's input or output model, or one of its own, may be handed a credential: pydantic
    quotes a long input as its first 24 and last 23 characters around ``...``, which no whole
    value matches (masking knows that cut too, :func:`tools.redaction.redact`), and the error
    needs none of it to say what was wrong. Nor does it need pydantic's link to its docs.
    """
    problems = error.errors(include_url=False, include_context=False)
    count = len(problems)
    lines = [f"{count} validation error{'' if count == 1 else 's'} for {error.title}"]
    for problem in problems:
        if problem["loc"]:
            lines.append(".".join(str(part) for part in problem["loc"]))
        shown = f"type={problem['type']}"
        if "input" in problem:
            shown += f", input_type={type(problem['input']).__name__}"
        lines.append(f"  {problem['msg']} [{shown}]")
    return "\n".join(lines)
