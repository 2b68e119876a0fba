"""The tool registry: an object that plans are checked against and the executor calls through."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import BaseModel

from .errors import BatonError, ToolDefinitionError, UnknownToolError
from .retry import RetryPolicy
from .signature import definition_label, derive_models
from .spec import Effect, ToolSpec

ENTRY_POINT_GROUP = "baton.tools"

MAX_TIMEOUT_S = 86_400.0
"""The longest time limit one attempt may have (24 h), a tool's or a step's: a deadline
is always armed, and a hung call always ends."""

F = TypeVar("F", bound=Callable[..., Any])


class ToolRegistry:
    """A named set of tools. Built by the application and passed around, never global."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] = {}

    def tool(self, name: str, **options: Any) -> Callable[[F], F]:
        """Register the decorated function (sync or async) as tool ``name``; returns it unchanged.

        ``options`` are those of :meth:`register_function`.
        """

        def decorate(fn: F) -> F:
            self.register_function(fn, name=name, **options)
            return fn

        return decorate

    def register_function(
        self,
        fn: Callable[..., Any],
        *,
        name: str,
        effect: Effect | str = Effect.READ,
        effect_from_args: Callable[[Mapping[str, Any]], Effect | str] | None = None,
        idempotent: bool = False,
        sends_idempotency_key: bool = False,
        timeout_s: float = 30.0,
        timeout_from_args: Callable[[Mapping[str, Any]], float | None] | None = None,
        retry: RetryPolicy | None = None,
        secrets: tuple[str, ...] | list[str] = (),
        tags: tuple[str, ...] | list[str] = (),
        region: str | None = None,
        description: str | None = None,
        endpoint_url: str | None = None,
        input_model: type[BaseModel] | None = None,
        output_model: type[BaseModel] | None = None,
    ) -> ToolSpec:
        """Derive a ``ToolSpec`` from ``fn`` and add it; every problem is reported at once.

        ``sends_idempotency_key=True`` says ``fn`` passes ``context.idempotency_key`` on with
        every call, so the service can drop a repeat: a write that timed out is retried.
        ``timeout_from_args`` returns the deadline a call asks for in its arguments (or None);
        the attempt's limit is lengthened to it, up to 24 h. See :class:`ToolSpec`.
        """
        problems: list[str] = []
        try:
            effect_value = Effect(effect)
        except ValueError:
            problems.append(f"effect {effect!r} must be 'read' or 'write'")
            effect_value = Effect.READ
        problem = timeout_problem(timeout_s)
        if problem is not None:
            problems.append(problem)
        if name in self._tools:
            problems.append(f"a tool named {name!r} is already registered")
        try:
            derived = derive_models(
                fn, name=name, description=description,
                input_model=input_model, output_model=output_model,
            )
        except ToolDefinitionError as exc:
            raise ToolDefinitionError(exc.function_name, problems + exc.problems) from None
        if problems:
            raise ToolDefinitionError(definition_label(name, fn), problems)
        spec = ToolSpec(
            name=name,
            description=derived.description,
            fn=fn,
            input_model=derived.input_model,
            output_model=derived.output_model,
            effect=effect_value,
            effect_from_args=effect_from_args,
            idempotent=idempotent,
            sends_idempotency_key=sends_idempotency_key,
            timeout_s=float(timeout_s),
            timeout_from_args=timeout_from_args,
            retry=retry or RetryPolicy(),
            secrets=tuple(secrets),
            tags=tuple(tags),
            region=region,
            endpoint_url=endpoint_url,
            context_param=derived.context_param,
            model_param=derived.model_param,
            field_params=derived.field_params,
            wraps_value=derived.wraps_value,
        )
        self._tools[name] = spec
        return spec

    def add(self, spec: ToolSpec) -> None:
        """Add an already built spec (e.g. copied from another registry)."""
        if spec.name in self._tools:
            raise ToolDefinitionError(spec.name, [f"a tool named {spec.name!r} is already registered"])
        problem = timeout_problem(spec.timeout_s)
        if problem is not None:
            raise ToolDefinitionError(spec.name, [problem])
        self._tools[spec.name] = spec

    def get(self, name: str) -> ToolSpec:
        """The tool called ``name``; ``UnknownToolError`` with the closest names otherwise."""
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(name, self.closest(name)) from None

    def closest(self, name: str, n: int = 3) -> list[str]:
        """Registered names that look most like ``name``."""
        return difflib.get_close_matches(name, list(self._tools), n=n, cutoff=0.5)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(sorted(self._tools.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        """Registered tool names, sorted."""
        return sorted(self._tools)

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Register tools shipped by installed packages; returns the names added.

        Each entry point names a callable ``register(registry)`` that adds its
        tools to the registry it is given.
        """
        added: list[str] = []
        for ep in entry_points(group=group):
            before = set(self._tools)
            try:
                register = ep.load()
                register(self)
            except BatonError:
                raise
            except Exception as exc:
                raise BatonError(
                    f"tool package entry point {ep.name!r} ({ep.value}) failed to load: {exc}",
                    code="tool_entry_point",
                ) from exc
            new = sorted(set(self._tools) - before)
            _log().debug("tools.entry_point_loaded", entry_point=ep.name, tools=new)
            added.extend(new)
        return added


def _log() -> Any:
    # structlog costs ~70 ms to import; `baton --help` must not pay for it.
    import structlog

    return structlog.get_logger(__name__)


def timeout_problem(timeout_s: object) -> str | None:
    """What is wrong with a tool's ``timeout_s`` (None: nothing). NaN and infinity are refused:
    with either, no deadline would be armed and a hung call would hold its step for ever."""
    if (isinstance(timeout_s, int | float) and not isinstance(timeout_s, bool)
            and 0 < timeout_s <= MAX_TIMEOUT_S):
        return None
    return (f"timeout_s must be positive, finite and at most {MAX_TIMEOUT_S:g} seconds (24 h), "
            f"got {timeout_s!r}")
