"""Turn a type-hinted function into input/output models, reporting every problem at once."""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typing_extensions
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from .errors import ToolDefinitionError
from .json_schema_checks import pydantic_reason
from .spec import ToolContext

# Matched in full (``fullmatch``): a ``$`` would match before a trailing newline.
TOOL_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
_ARGS_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters)\s*:\s*$")
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
# Sections about the function's own result and failures: the output schema describes the
# result, so the planner is not shown them.
_DROPPED_SECTION = re.compile(r"^\s*(Returns|Raises|Yields)\s*:\s*$")
# Sections that help a caller: kept in the description, heading included.
_KEPT_SECTION = re.compile(r"^\s*(Examples?|Notes?|Warnings?)\s*:\s*$")
GENERATOR_REFUSAL = "a generator function cannot be a tool: return the whole result"


@dataclass(frozen=True)
class DerivedModels:
    """What a function's signature says about the tool it becomes."""

    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    context_param: str | None
    model_param: str | None
    field_params: tuple[tuple[str, str], ...]
    wraps_value: bool


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into a description and per-argument descriptions."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    current: str | None = None
    section = "summary"  # or "args", or "dropped" (Returns, Raises, Yields) until the next one
    for line in lines:
        if _ARGS_SECTION.match(line):
            section, current = "args", None
            continue
        if _DROPPED_SECTION.match(line):
            section, current = "dropped", None
            continue
        if _KEPT_SECTION.match(line):
            section, current = "summary", None
        if section == "dropped":
            continue
        if section == "summary":
            summary.append(line)
            continue
        match = _ARG_LINE.match(line)
        if match and (len(line) - len(line.lstrip())) <= 4:
            current = match.group(1).lstrip("*")
            args[current] = match.group(3).strip()
        elif current and line.strip():
            args[current] = f"{args[current]} {line.strip()}".strip()
    return "\n".join(summary).strip(), args


def _is_model(tp: Any) -> bool:
    return inspect.isclass(tp) and issubclass(tp, BaseModel)


def _without_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _asks_for_context(hint: Any) -> bool:
    """Whether ``hint`` is ``ToolContext``, maybe Optional (``| None``) and maybe Annotated."""
    hint = _without_annotated(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        if len(members) != 1:
            return False
        hint = _without_annotated(members[0])
    return hint is ToolContext


# Parts of a pydantic core schema that no input is validated against, where a ToolContext is
# one no plan can write (a computed field, a serializer's type), and values that are no schema
# at all (a default, a Literal's values), which may be large or even refer to themselves.
_NOT_INPUT_KEYS = frozenset({"metadata", "serialization", "computed_fields", "config", "default",
                             "expected", "members"})


def _context_paths(core_schema: Any, root: str) -> list[str]:
    """Where a ToolContext (or a subclass) is validated inside ``core_schema``, the pydantic
    core schema of parameter ``root``: ``req.items[*].ctx``; empty if nowhere.

    The core schema is what the plan's arguments are validated against, so model, dataclass
    and TypedDict fields, containers, aliases and generic models are all seen as pydantic sees
    them, and private attributes and class variables, which no plan writes, are not. It can
    hide a type (a PlainValidator, SkipValidation): ``_hinted_context_paths`` walks the hints
    as well. Walked with a stack; each definition once, so a model that refers to itself ends
    the walk.
    """
    definitions: dict[str, Any] = {}
    pending: list[Any] = [core_schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("ref"), str):
                definitions[node["ref"]] = node
            pending.extend(v for k, v in node.items() if k not in _NOT_INPUT_KEYS)
        elif isinstance(node, list | tuple):
            pending.extend(node)
    found: list[str] = []
    seen_refs: set[str] = set()
    stack: list[tuple[Any, str]] = [(core_schema, root)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend((item, path) for item in reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        cls = node.get("cls")
        if inspect.isclass(cls) and issubclass(cls, ToolContext):
            if path not in found:
                found.append(path)
            continue
        if node.get("type") == "definition-ref":
            # Followed even when seen: a second field of type ToolContext is named too.
            stack.append((definitions.get(node.get("schema_ref")), path))
            continue
        ref = node.get("ref")
        if isinstance(ref, str):
            if ref in seen_refs:
                continue
            seen_refs.add(ref)
        children: list[tuple[Any, str]] = []
        for key, value in node.items():
            if key in _NOT_INPUT_KEYS or key == "definitions":  # reached through their refs
                continue
            if key == "fields" and isinstance(value, dict):  # model and TypedDict fields
                children.extend((field, f"{path}.{name}") for name, field in value.items())
            elif key == "fields" and isinstance(value, list):  # dataclass fields
                children.extend((field, f"{path}.{field['name']}") for field in value
                                if isinstance(field, dict) and "name" in field)
            elif key in ("items_schema", "values_schema"):
                children.append((value, f"{path}[*]"))
            elif key == "keys_schema":
                children.append((value, f"{path}[key]"))
            else:
                children.append((value, path))
        stack.extend(reversed(children))
    return found


_NAMES_CONTEXT = re.compile(r"\bToolContext\b")
# ``type X = ...`` (Python 3.12) and its backport, which are different classes on some versions.
_TYPE_ALIASES = tuple({getattr(typing, "TypeAliasType", typing_extensions.TypeAliasType),
                       typing_extensions.TypeAliasType})


def _hinted_context_paths(hint: Any, root: str) -> list[str]:
    """Where a ToolContext (or a subclass) appears in the type hint ``hint`` of parameter
    ``root``, walked as written: through Annotated, unions, containers' items, and the fields
    of pydantic models, dataclasses, TypedDicts and NamedTuples.

    The core schema alone misses some: a ``PlainValidator`` replaces the type with a function
    and ``SkipValidation`` with "any", yet what the plan writes still becomes the tool's
    context. So this walk fails closed: a ToolContext anywhere in the annotation is refused.
    Each class is walked once, so a type that refers to itself ends the walk.
    """
    found: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(hint, root)]
    while stack:
        tp, path = stack.pop()
        if isinstance(tp, typing.ForwardRef):
            tp = tp.__forward_arg__
        if isinstance(tp, str):  # a name not resolved here: fail closed on the written name
            if _NAMES_CONTEXT.search(tp) and path not in found:
                found.append(path)
            continue
        if isinstance(tp, dataclasses.InitVar):  # an init-only field is still an input
            tp = tp.type
        if inspect.isclass(tp) and issubclass(tp, ToolContext):
            if path not in found:
                found.append(path)
            continue
        if isinstance(tp, _TYPE_ALIASES):  # ``type X = ...``
            if id(tp) not in seen:
                seen.add(id(tp))
                stack.append((tp.__value__, path))
            continue
        origin = typing.get_origin(tp)
        if origin in (typing.Literal, typing_extensions.Literal, typing.ClassVar):
            continue  # values, not types; a class variable is no field
        fields = None if origin is not None else _hinted_fields(tp)
        if fields is not None:
            if id(tp) in seen:
                continue
            seen.add(id(tp))
            stack.extend((field, f"{path}.{name}") for name, field in reversed(fields))
            continue
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            stack.append((args[0], path))  # the rest is metadata: validators, descriptions
        elif inspect.isclass(origin) and issubclass(origin, collections.abc.Mapping):
            stack.extend(reversed([(a, f"{path}[key]" if i == 0 else f"{path}[*]")
                                   for i, a in enumerate(args)]))
        elif inspect.isclass(origin) and issubclass(origin, collections.abc.Iterable):
            stack.extend((a, f"{path}[*]") for a in reversed(args) if a is not Ellipsis)
        else:  # unions, Required/NotRequired, type[...], a generic model's parameters...
            stack.extend((a, path) for a in reversed(args))
    return found


def _hinted_fields(tp: Any) -> list[tuple[str, Any]] | None:
    """The input fields of a model, dataclass, TypedDict or NamedTuple, with their hints;
    None if ``tp`` is none of those."""
    if _is_model(tp):
        # Annotated's metadata is kept apart from the annotation; a model's fields are the
        # ones pydantic validates (no private attributes, no class variables).
        return [(name, info.annotation) for name, info in tp.model_fields.items()]
    if not inspect.isclass(tp):
        return None
    if dataclasses.is_dataclass(tp):
        hints = _class_hints(tp)
        return [(f.name, hints.get(f.name, f.type)) for f in tp.__dataclass_fields__.values()
                if not _is_class_var(hints.get(f.name, f.type))]
    if typing_extensions.is_typeddict(tp) or (issubclass(tp, tuple) and hasattr(tp, "_fields")):
        return list(_class_hints(tp).items())
    return None


def _class_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception:  # an unresolvable name: what is written is all there is to walk
        hints: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            hints.update(getattr(klass, "__annotations__", {}))
        return hints


def _is_class_var(tp: Any) -> bool:
    return tp is typing.ClassVar or typing.get_origin(tp) is typing.ClassVar


def _context_problem(param: str, hint: Any, paths: list[str]) -> str:
    where = "" if paths == [param] else f" at {', '.join(paths)}"
    label = hint.__qualname__ if isinstance(hint, type) else repr(hint)
    # As an input the plan would write it: a forged key, secrets or workspace.
    return (f"parameter {param!r}: {label} holds a ToolContext{where}, which the plan would then "
            "write; only the executor hands a tool its context: declare it as a top-level "
            "parameter annotated ToolContext (or ToolContext | None) instead")


def _is_generator_function(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` gives a generator, sync or async, instead of its result.

    The executor would get the generator object as the output: the run fails its output
    check, or, where the output model takes any iterable, the body runs while the output is
    validated, on the event loop, outside the tool's thread and its time limit.
    """
    return inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)


def _json_schema_problem(tp: Any) -> str | None:
    adapter, problem = _adapter(tp)
    return problem if adapter is None else _adapter_schema_problem(adapter)


def _adapter(tp: Any) -> tuple[TypeAdapter[Any] | None, str | None]:
    """pydantic's validator of ``tp``, or why there is none."""
    try:
        return TypeAdapter(tp), None
    except Exception as exc:  # pydantic raises several types here; report the message
        return None, pydantic_reason(exc)


def _adapter_schema_problem(adapter: TypeAdapter[Any]) -> str | None:
    try:
        adapter.json_schema()
    except Exception as exc:  # pydantic raises several types here; report the message
        return pydantic_reason(exc)
    return None


def _field_name(param: str) -> str:
    # A parameter called e.g. "json" would shadow a BaseModel attribute.
    return f"{param}_" if hasattr(BaseModel, param) else param


@dataclass
class _Params:
    """What the parameters of a tool function give: fields, special parameters, problems."""

    fields: dict[str, Any]
    field_params: list[tuple[str, str]]
    context_param: str | None = None
    model_param: str | None = None


def definition_label(name: str, fn: object) -> str:
    """How a registration error names what failed: the tool, then the function (a name like
    ``register.<locals>.add`` alone does not say which tool, or which package)."""
    return f"{name!r} (function {getattr(fn, '__qualname__', repr(fn))})"


def derive_models(
    fn: Callable[..., Any],
    *,
    name: str,
    description: str | None,
    input_model: type[BaseModel] | None,
    output_model: type[BaseModel] | None,
) -> DerivedModels:
    """Build the models of a tool from ``fn``; raise ``ToolDefinitionError`` listing all problems."""
    label = definition_label(name, fn)
    if not isinstance(name, str):  # the models are named after it
        raise ToolDefinitionError(label, [f"tool name {name!r} must be a string, "
                                          "e.g. 'files.read'"])
    problems: list[str] = []
    if not TOOL_NAME.fullmatch(name):
        problems.append(
            f"tool name {name!r} must be lower-case words separated by dots, e.g. 'files.read'"
        )
    if not callable(fn):
        raise ToolDefinitionError(label, ["is not callable"])
    generator = _is_generator_function(fn)
    if generator:
        problems.append(GENERATOR_REFUSAL)
    doc_summary, doc_args = parse_docstring(inspect.getdoc(fn))
    summary = (description or doc_summary).strip()
    if not summary:
        problems.append("has no description: add a docstring or pass description=")
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # unresolvable forward references and the like
        raise ToolDefinitionError(label, [f"type hints cannot be resolved: {exc}"]) from exc
    signature = inspect.signature(fn)
    params = _parameters(signature, hints, doc_args, input_model, problems)
    for documented in doc_args:
        if documented not in signature.parameters:
            problems.append(f"docstring documents {documented!r}, which is not a parameter")
    # A generator's return annotation describes what it yields: no output model to derive.
    output_model, wraps_value = (None, False) if generator else _output(name, hints, output_model,
                                                                        problems)
    if problems:
        raise ToolDefinitionError(label, problems)

    if input_model is None:
        input_model = create_model(
            _model_name(name, "Input"),
            __config__=ConfigDict(extra="forbid", frozen=True, populate_by_name=True),
            **params.fields,
        )
    assert output_model is not None
    return DerivedModels(
        description=summary,
        input_model=input_model,
        output_model=output_model,
        context_param=params.context_param,
        model_param=params.model_param,
        field_params=tuple(params.field_params),
        wraps_value=wraps_value,
    )


def _parameters(signature: inspect.Signature, hints: dict[str, Any], doc_args: dict[str, str],
                input_model: type[BaseModel] | None, problems: list[str]) -> _Params:
    """Input fields from the parameters; every problem is appended to ``problems``."""
    out = _Params(fields={}, field_params=[])
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            problems.append(f"parameter {param.name!r}: *args and **kwargs cannot be described to a planner")
            continue
        if param.kind is param.POSITIONAL_ONLY:
            problems.append(f"parameter {param.name!r} is positional-only; tools are called by keyword")
            continue
        hint = hints.get(param.name, inspect.Parameter.empty)
        if _asks_for_context(hint):
            # Optional or not, the executor always passes it: the tool never gets None.
            if out.context_param is not None:
                problems.append(f"parameters {out.context_param!r} and {param.name!r} both take "
                                "the ToolContext; declare it once")
            else:
                out.context_param = param.name
            continue
        if hint is inspect.Parameter.empty:
            problems.append(f"parameter {param.name!r} has no type annotation")
            continue
        # An input_model's parameter too: its fields are as much the plan's as any other.
        adapter, schema_problem = _adapter(hint)
        paths = [] if adapter is None else _context_paths(adapter.core_schema, param.name)
        # The hints too: a PlainValidator or SkipValidation hides the type in the core schema.
        paths += [p for p in _hinted_context_paths(hint, param.name) if p not in paths]
        if paths:
            problems.append(_context_problem(param.name, hint, paths))
            continue
        if input_model is not None:
            if out.model_param is not None or hint is not input_model:
                problems.append(
                    f"parameter {param.name!r}: with input_model= the function takes exactly one "
                    f"parameter annotated {input_model.__name__} (plus an optional ToolContext)"
                )
            out.model_param = param.name
            continue
        if param.name.startswith("_"):
            # pydantic keeps such names off its fields, so no plan could ever pass one.
            problems.append(f"parameter {param.name!r}: a name starting with '_' cannot be an "
                            "argument; rename it")
            continue
        if adapter is not None:
            schema_problem = _adapter_schema_problem(adapter)
        if schema_problem:
            problems.append(f"parameter {param.name!r}: type {hint!r} has no JSON Schema ({schema_problem})")
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        field_name = _field_name(param.name)
        out.fields[field_name] = (
            hint,
            Field(default, alias=param.name if field_name != param.name else None,
                  description=doc_args.get(param.name) or None),
        )
        out.field_params.append((param.name, field_name))
    if input_model is not None and out.model_param is None and not problems:
        problems.append(f"takes no parameter annotated {input_model.__name__}")
    return out


def _output(name: str, hints: dict[str, Any], output_model: type[BaseModel] | None,
            problems: list[str]) -> tuple[type[BaseModel] | None, bool]:
    """The output model (given, the return annotation, or a ``value`` wrapper) and whether it wraps."""
    if output_model is not None:
        return output_model, False
    returns = hints.get("return", inspect.Parameter.empty)
    if returns is inspect.Parameter.empty:
        problems.append("has no return annotation: annotate it or pass output_model=")
    elif _is_model(returns):
        return returns, False
    elif returns is None or returns is type(None):
        problems.append("returns None: a tool must return a value later steps can use")
    else:
        schema_problem = _json_schema_problem(returns)
        if schema_problem:
            problems.append(f"return type {returns!r} has no JSON Schema ({schema_problem})")
        else:
            return create_model(
                _model_name(name, "Output"),
                __config__=ConfigDict(frozen=True),
                value=(returns, Field(description="The tool's result.")),
            ), True
    return None, False


def _model_name(tool_name: str, suffix: str) -> str:
    parts = re.split(r"[._]", tool_name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p) + suffix
