"""The tool registry: an object that plans are checked against and the executor calls through."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import BaseModel

from .errors import BatonError, ToolDefinitionError, UnknownToolError
from .json_schema_checks import model_schema_problems
from .options import (
    callable_option,
    flag_option,
    names_option,
    region_option,
    retry_option,
    text_option,
)
from .regex_engines import python_re_problems
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
        # Who registered each tool, for the error a second registration of its name gets.
        self._origins: dict[str, str] = {}
        # The entry point whose register() is running (load_entry_points), if one is.
        self._loading: str | None = None

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
        retry: RetryPolicy | Mapping[str, Any] | None = None,
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
        ``retry`` is a :class:`RetryPolicy` or a mapping of its fields. Options of the wrong
        type (``tags="egress"``, ``idempotent="no"``) are problems like any other.
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
        if isinstance(name, str) and name in self._tools:
            problems.append(self._duplicate(name))
        checked = {
            "effect_from_args": callable_option("effect_from_args", effect_from_args, problems),
            "idempotent": flag_option("idempotent", idempotent, problems),
            "sends_idempotency_key": flag_option("sends_idempotency_key", sends_idempotency_key,
                                                 problems),
            "timeout_from_args": callable_option("timeout_from_args", timeout_from_args, problems),
            "retry": retry_option(retry, problems),
            "secrets": names_option("secrets", secrets, problems),
            "tags": names_option("tags", tags, problems),
            "region": region_option(region, problems),
            "endpoint_url": text_option("endpoint_url", endpoint_url, problems),
        }
        try:
            derived = derive_models(
                fn, name=name, description=text_option("description", description, problems),
                input_model=input_model, output_model=output_model,
            )
        except ToolDefinitionError as exc:
            raise ToolDefinitionError(exc.function_name, problems + exc.problems) from None
        # A $ref to fetch or a pattern Rust regex cannot run: refused now, not at each plan check.
        problems += model_schema_problems(derived.input_model, derived.output_model)
        # A pattern the call would match with Python's re: exponential on a crafted argument.
        problems += python_re_problems(derived.input_model, derived.output_model)
        if problems:
            raise ToolDefinitionError(definition_label(name, fn), problems)
        spec = ToolSpec(
            name=name,
            description=derived.description,
            fn=fn,
            input_model=derived.input_model,
            output_model=derived.output_model,
            effect=effect_value,
            timeout_s=float(timeout_s),
            context_param=derived.context_param,
            model_param=derived.model_param,
            field_params=derived.field_params,
            wraps_value=derived.wraps_value,
            **checked,
        )
        self._keep(spec)
        return spec

    def add(self, spec: ToolSpec) -> None:
        """Add an already built spec (e.g. copied from another registry)."""
        if spec.name in self._tools:
            raise ToolDefinitionError(definition_label(spec.name, spec.fn),
                                      [self._duplicate(spec.name)])
        problem = timeout_problem(spec.timeout_s)
        problems = [problem] if problem is not None else []
        problems += model_schema_problems(spec.input_model, spec.output_model)
        problems += python_re_problems(spec.input_model, spec.output_model)
        if problems:
            raise ToolDefinitionError(definition_label(spec.name, spec.fn), problems)
        self._keep(spec)

    def _keep(self, spec: ToolSpec) -> None:
        self._tools[spec.name] = spec
        fn = spec.fn
        self._origins[spec.name] = self._loading or (
            f"{getattr(fn, '__module__', None) or '?'}.{getattr(fn, '__qualname__', repr(fn))}")

    def _duplicate(self, name: str) -> str:
        """The problem of registering ``name`` again, saying who registered it first: two
        packages may well pick the same name, and only the second one's error is seen."""
        return f"a tool named {name!r} is already registered, by {self._origins[name]}"

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
            self._loading = f"tool package entry point {ep.name!r} ({ep.value})"
            try:
                register = ep.load()
                register(self)
            except (Exception, SystemExit) as exc:
                # A BatonError too: its text names a tool or a function, not the package.
                # SystemExit too: a package's sys.exit(0) ended the command with 0, its work
                # undone (KeyboardInterrupt is the user's, and still stops it).
                why = (f"it called sys.exit({exc.code!r})" if isinstance(exc, SystemExit)
                       else exc)
                raise BatonError(f"{self._loading} failed to load: {why}",
                                 code="tool_entry_point") from exc
            finally:
                self._loading = None
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
