"""A flat JSON Schema (a ``[[tools.http]]`` table's input or output schema) as a pydantic model.

Each property is a type (or a list of types) or an enum, with only the keywords that fit
its type: a pattern on an integer, a minimum on a string or ``items`` that is no schema
were dropped or leaked into the exported schema under a pydantic name (``ge``), and a
pattern pydantic's (Rust) regex engine refuses or a bound of the wrong type crashed every
command. Every such problem is a ``ToolDefinitionError`` naming the property instead.
The top level is ``type``, ``properties``, ``required`` (a list of names) and
``additionalProperties`` (true or false), with a title and description: any other keyword
is refused too, never dropped.
"""

from __future__ import annotations

import functools
import keyword
import math
import operator
import re
from collections.abc import Mapping
from types import NoneType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic_core import SchemaError, SchemaValidator, core_schema

from .errors import ToolDefinitionError
from .output_checks import holds_non_finite

_TYPES: dict[str, Any] = {
    "string": str, "integer": int, "number": float, "boolean": bool,
    "object": dict[str, Any], "array": list[Any], "null": NoneType,
}
# Annotations, which any property may carry; `format` is not checked (OpenAPI writes
# `format = "int64"` on integers), nor are title and examples: pydantic does not export them.
_ANY_TYPE = frozenset({"type", "description", "default", "enum", "title", "examples", "format"})
_NUMBER_BOUNDS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt",
                  "exclusiveMaximum": "lt"}
# For each type, its JSON Schema keywords and the pydantic constraint each becomes
# (`items` is the element type, not a constraint).
_FITTING: dict[str, dict[str, str | None]] = {
    "string": {"minLength": "min_length", "maxLength": "max_length", "pattern": "pattern"},
    "integer": _NUMBER_BOUNDS, "number": _NUMBER_BOUNDS,
    "array": {"items": None, "minItems": "min_length", "maxItems": "max_length"},
    "boolean": {}, "object": {}, "null": {},
}
_TYPED = {kw for keywords in _FITTING.values() for kw in keywords}
_COUNTS = frozenset({"minLength", "maxLength", "minItems", "maxItems"})
# The top-level keywords the model is built from, and the annotations beside them.
_TOP_LEVEL = frozenset({"type", "properties", "required", "additionalProperties", "title",
                        "description"})
_LOOKAROUND = re.compile(r"\(\?<?[=!]")


def _usable_as_is(name: str) -> bool:
    ok = name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
    return ok and not hasattr(BaseModel, name)


def _python_names(properties: Mapping[str, Any]) -> dict[str, str]:
    """A distinct Python field name per property: itself where it can be, else ``field_N``.

    A renamed property never takes a name another property has as is (``json`` renamed
    ``field_1`` replaced the property literally named ``field_1``).
    """
    used = {name for name in properties if _usable_as_is(name)}
    names: dict[str, str] = {}
    for index, prop in enumerate(properties):
        if _usable_as_is(prop):
            names[prop] = prop
            continue
        name = f"field_{index}"
        while name in used:
            name += "_"
        used.add(name)
        names[prop] = name
    return names


def pattern_problem(pattern: Any) -> str | None:
    """Why ``pattern`` cannot be a property's pattern, if it cannot.

    Plans and calls are both checked on pydantic's Rust regex engine (linear in the text;
    no look-around, no backreferences: ``tools.json_schema_checks``), and nothing in Baton
    runs a tool schema's pattern on Python's ``re``: a pattern has to compile on Rust only.
    Rust's syntax is the one that counts (``\\p{L}`` and ``(?<year>...)`` are patterns, which
    Python's ``re`` refuses), as for any pydantic model on the default engine.
    """
    if not isinstance(pattern, str):
        return f"pattern must be a string, not {pattern!r}"
    try:
        SchemaValidator(core_schema.str_schema(pattern=pattern, regex_engine="rust-regex"))
    except SchemaError as exc:
        # The engine's own last line says what is wrong ("unclosed group", "backreferences
        # are not supported", "Compiled regex exceeds size limit ...").
        why = str(exc).strip().splitlines()[-1].strip()
        why = why.removeprefix("error: ").removeprefix("SchemaError: ")
        if _LOOKAROUND.search(pattern):
            return (f"pattern {pattern!r} cannot be used: look-around ((?=, (?!, (?<=, (?<!) "
                    "is not supported")
        if "not supported" in why:
            return f"pattern {pattern!r} cannot be used: {why}"
        return f"pattern {pattern!r} is not a valid regular expression ({why})"
    return None


def _bound_problem(key: str, value: Any) -> str | None:
    """Why ``value`` cannot be the bound ``key`` (a count, a number or a pattern), if it cannot."""
    if key == "pattern":
        return pattern_problem(value)
    if key in _COUNTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{key} must be a whole number of 0 or more, not {value!r}"
    elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"{key} must be a number, not {value!r}"
    return None


def _kinds(schema: Mapping[str, Any]) -> list[Any] | str:
    """The property's type names, or why there are none."""
    kinds = schema.get("type")
    if kinds is None:
        return [] if "enum" in schema else f"give a type (one of {sorted(_TYPES)}) or an enum"
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if not kinds:
        return "type must be a type name or a non-empty list of them"
    unknown = [kind for kind in kinds if kind not in _TYPES]
    if unknown:
        return f"type {unknown[0]!r} is not one of {sorted(_TYPES)}"
    return kinds


def _unsupported(schema: Mapping[str, Any]) -> list[str]:
    """The keywords of ``schema`` this mapper knows nothing of, as a problem (or none)."""
    unsupported = sorted(set(schema) - _ANY_TYPE - _TYPED)
    return [f"unsupported keywords {unsupported} (flat schemas only: type, enum, items, "
            "description, default, bounds)"] if unsupported else []


def _misplaced(schema: Mapping[str, Any], kinds: list[str]) -> list[str]:
    """The keywords of ``schema`` that fit none of its types (or sit beside an enum)."""
    problems: list[str] = []
    for key in sorted(set(schema) & _TYPED):
        if "enum" in schema:
            problems.append(f"{key} does not apply beside enum, which lists the values")
        elif not any(key in _FITTING[kind] for kind in kinds):
            fits = [kind for kind, keys in _FITTING.items() if key in keys]
            problems.append(f"{key} does not apply to {' or '.join(kinds)} (it fits "
                            f"{' and '.join(fits)})")
    return problems


def _member_type(name: str, kind: str, schema: Mapping[str, Any], problems: list[str]) -> Any:
    """One type of the property with the bounds that fit it."""
    base = _TYPES[kind]
    constraints: dict[str, Any] = {}
    for key, constraint in _FITTING[kind].items():
        if key not in schema:
            continue
        if key == "items":
            items = schema["items"]
            if isinstance(items, dict):
                base = list[field_type(f"{name}[]", items, problems)]  # type: ignore[misc]
            else:
                problems.append(f"property {name!r}: items must be a schema object such as "
                                f"{{type = \"string\"}}, not {items!r}")
            continue
        problem = _bound_problem(key, schema[key])
        if problem:
            problems.append(f"property {name!r}: {problem}")
        else:
            constraints[constraint] = schema[key]  # type: ignore[index]
    return Annotated[base, Field(**constraints)] if constraints else base


def _value_problem(tp: Any, value: Any) -> str | None:
    """Why ``value`` is no value of ``tp`` (strictly: "3" is no integer), if it is not."""
    try:
        TypeAdapter(tp).validate_python(value, strict=True)
    except ValidationError as exc:
        return exc.errors()[0]["msg"]
    return None


def _enum_type(name: str, values: Any, typed: Any, problems: list[str]) -> Any:
    """The Literal of an enum's values, each checked against the property's type (if any)."""
    if not isinstance(values, list) or not values:
        problems.append(f"property {name!r}: enum must be a non-empty list")
        return Any
    if not all(isinstance(value, str | int | float | bool | NoneType) for value in values):
        problems.append(f"property {name!r}: enum values must be strings, numbers, booleans "
                        "or null")
        return Any
    for value in values:
        why = typed is not Any and _value_problem(typed, value)
        if why:
            problems.append(f"property {name!r}: enum value {value!r} does not fit its type "
                            f"({why})")
    return Literal[tuple(values)]  # type: ignore[valid-type]


def field_type(name: str, schema: Any, problems: list[str]) -> Any:
    """The Python type of one property; appends a problem for what this small mapper can't do."""
    if not isinstance(schema, dict):
        problems.append(f"property {name!r}: schema must be an object")
        return Any
    found = len(problems)
    # TOML has nan and inf, JSON neither: the published schema would show null in their
    # place, a value the tool then refuses.
    problems.extend(f"property {name!r}: {key} holds nan or inf, which JSON cannot carry; "
                    "write a finite number" for key in ("enum", "default", "examples")
                    if key in schema and holds_non_finite(schema[key]))
    kinds = _kinds(schema)
    unfit = _unsupported(schema) + ([kinds] if isinstance(kinds, str) else _misplaced(schema, kinds))
    problems.extend(f"property {name!r}: {problem}" for problem in unfit)
    if isinstance(kinds, str):
        return Any
    members = [_member_type(name, kind, schema, problems) for kind in kinds]
    result = functools.reduce(operator.or_, members) if members else Any
    if "enum" in schema:
        result = _enum_type(name, schema["enum"], result, problems)
    # Checked only once the type is sound: its problems already say what to fix.
    if "default" in schema and len(problems) == found:
        why = _value_problem(result, schema["default"])
        if why:
            problems.append(f"property {name!r}: default {schema['default']!r} does not fit "
                            f"the property ({why})")
    return result


def _top_level_problems(model_name: str, schema: Mapping[str, Any]) -> list[str]:
    """What the top level of ``schema`` holds that the model cannot honour.

    A keyword the model is not built from (``minProperties``, ``patternProperties``, a
    ``$ref``) was dropped, so the tool accepted what its schema said to refuse.
    """
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append(f"{model_name}: top-level schema must have type 'object'")
    unknown = sorted((str(key) for key in set(schema) - _TOP_LEVEL))
    if unknown:
        problems.append(f"{model_name}: unsupported top-level keywords {unknown} (flat schemas "
                        "only: type, properties, required, additionalProperties, title, "
                        "description)")
    extra = schema.get("additionalProperties")
    if "additionalProperties" in schema and not isinstance(extra, bool):
        problems.append(f"{model_name}: additionalProperties must be true or false, "
                        f"not {extra!r}")
    return problems


def _required_names(model_name: str, schema: Mapping[str, Any], problems: list[str]) -> set[str]:
    """The required property names; a problem if ``required`` is no list of names.

    ``set(required)`` read ``"ab"`` as ``a`` and ``b`` and crashed on ``5`` or ``[["id"]]``.
    """
    required = schema.get("required", [])
    if not isinstance(required, list):
        problems.append(f"{model_name}: required must be a list of property names, such as "
                        f"[\"id\"], not {required!r}")
        return set()
    names = [name for name in required if isinstance(name, str)]
    if len(names) != len(required):
        wrong = next(name for name in required if not isinstance(name, str))
        problems.append(f"{model_name}: required must list property names (strings), "
                        f"not {wrong!r}")
    return set(names)


def model_from_schema(
    model_name: str, schema: Mapping[str, Any], *, tool: str, forbid_extra: bool
) -> type[BaseModel]:
    """A pydantic model for a flat object JSON Schema; ``ToolDefinitionError`` lists every problem."""
    problems = _top_level_problems(model_name, schema)
    properties = schema.get("properties", {})
    required = _required_names(model_name, schema, problems)
    if not isinstance(properties, dict):
        raise ToolDefinitionError(tool, problems + [f"{model_name}: properties must be an object"])
    for missing in sorted(required - set(properties)):
        problems.append(f"{model_name}: required property {missing!r} is not in properties")
    fields: dict[str, Any] = {}
    python_names = _python_names(properties)
    for prop, prop_schema in properties.items():
        tp = field_type(prop, prop_schema, problems)
        if not isinstance(prop_schema, dict):
            continue
        default = ... if prop in required else prop_schema.get("default")
        if prop not in required and "default" not in prop_schema:
            tp = tp | None
        fields[python_names[prop]] = (tp, Field(
            default, alias=prop, description=prop_schema.get("description")))
    if problems:
        raise ToolDefinitionError(tool, problems)
    extra = "forbid" if forbid_extra or schema.get("additionalProperties") is False else "allow"
    if forbid_extra and schema.get("additionalProperties") is True:
        extra = "allow"
    # Arguments go by their property names only: a Python-side name (field_1) is no argument.
    config = ConfigDict(frozen=True, extra=extra, serialize_by_alias=True)
    try:
        return create_model(model_name, __config__=config, **fields)
    except (SchemaError, TypeError) as exc:  # a case the checks above missed: still no traceback
        last = str(exc).strip().splitlines()[-1]
        raise ToolDefinitionError(tool, [f"{model_name}: cannot be built ({last})"]) from None
