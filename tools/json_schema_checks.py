"""The JSON Schema validators Baton checks tool arguments with, and what a tool schema may hold.

jsonschema, left to itself, fetches a ``$ref`` it cannot resolve over HTTP (a server that
never answers hung ``baton plan`` for ever) and matches ``pattern`` and ``patternProperties``
with Python's backtracking ``re``: ``^(a+)+$`` against 29 ``a``'s and a ``!`` held the API
server (the GIL) for minutes. Every validator Baton builds comes from :func:`tool_validator`:

- a reference resolves inside the schema only (:func:`offline_registry` retrieves nothing);
- a pattern runs on pydantic-core's Rust regex, the engine pydantic checks the same
  arguments with when the tool is called: time linear in the text, no look-around, no
  backreferences.

:func:`schema_problems` refuses at registration what these validators cannot honour: a
``$ref`` that does not resolve inside the schema, a pattern that engine cannot compile, a
``$schema`` (jsonschema would switch to its own draft's validator there, with ``re``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaError, SchemaValidator, ValidationError, core_schema

from .endpoint_schema import pattern_problem
from .redaction import CUT_MARK
from .spec import model_schema, output_model_schema

# Draft 2020-12 keywords whose value is a subschema, a list of them or a map of them.
_ONE = ("additionalProperties", "contains", "contentSchema", "else", "if", "items", "not",
        "propertyNames", "then", "unevaluatedItems", "unevaluatedProperties")
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("$defs", "dependentSchemas", "patternProperties", "properties")
_REFS = ("$ref", "$dynamicRef")
_MAX_SHOWN = 120


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + CUT_MARK


def _refuse_retrieval(uri: str) -> Any:
    """What the registry answers for any URI not in the schema: no such resource, never a fetch."""
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)


@functools.cache
def offline_registry() -> Any:
    """A ``referencing.Registry`` that retrieves nothing: a ``$ref`` resolves inside the schema
    (a validator adds jsonschema's own meta-schemas) or not at all."""
    from referencing import Registry

    return Registry(retrieve=_refuse_retrieval)


# pydantic's reasons quote the pattern or type they refuse, which may be of any length.
_MAX_PYDANTIC_REASON_CHARS = 400


def pydantic_reason(exc: Exception) -> str:
    """pydantic's message on one line: its first line alone is often only a heading
    ("Error building "str" validator:"), the reason lines below it. Its link to the docs and
    the lines of carets under a quoted pattern are left out."""
    text = ""
    for line in (raw.strip() for raw in str(exc).splitlines()):
        if not line or line.startswith("For further information visit") or not line.strip("^ "):
            continue
        text += line if not text else (" " if text.endswith(":") else "; ") + line
    if len(text) > _MAX_PYDANTIC_REASON_CHARS:  # the reason is last, after the quote: both ends
        half = _MAX_PYDANTIC_REASON_CHARS // 2
        text = f"{text[:half]} … {text[-half:]}"
    return text


# --- at registration ----------------------------------------------------------------------


def model_schema_problems(input_model: type[BaseModel], output_model: type[BaseModel]) -> list[str]:
    """What a tool's input and output schemas (as validation and the planner read them) hold
    that Baton's validators cannot honour, each problem naming the argument or field."""
    problems: list[str] = []
    for which, schema_of, model in (("input", model_schema, input_model),
                                    ("output", output_model_schema, output_model)):
        try:
            schema = schema_of(model)
        except Exception as exc:  # pydantic raises several types here; report the message
            problems.append(f"{which} model {model.__name__} has no JSON Schema "
                            f"({pydantic_reason(exc)})")
            continue
        problems.extend(schema_problems(schema, which=which))
    return problems


def schema_problems(schema: Mapping[str, Any], *, which: str = "input") -> list[str]:
    """What ``schema`` holds that :func:`tool_validator` cannot honour (``which``: ``input`` or
    ``output``, for the messages): every subschema a check can reach is looked at, those a
    ``$ref`` leads to included."""
    from referencing.jsonschema import DRAFT202012

    root = DRAFT202012.create_resource(schema)
    problems: list[str] = []
    has_pattern_properties = False
    unevaluated: list[str] = []
    for node, path in _subschemas(schema, root, problems, which):
        where = _place(which, path)
        if "$schema" in node:
            problems.append(f"{where}: $schema {_shown(node['$schema'])} is not supported: tool "
                            "schemas are JSON Schema 2020-12 (remove it)")
        if "pattern" in node:
            problem = pattern_problem(node["pattern"])
            if problem:
                problems.append(f"{where}: {problem}")
        if "patternProperties" in node:
            has_pattern_properties = True
            problems.extend(_pattern_properties_problems(node["patternProperties"], where))
        if "unevaluatedProperties" in node:
            unevaluated.append(where)
    if has_pattern_properties:
        # jsonschema finds the evaluated properties with Python's re, past any override.
        problems.extend(f"{where}: unevaluatedProperties cannot be used in a schema with "
                        "patternProperties (use additionalProperties)" for where in unevaluated)
    return problems


def _pattern_properties_problems(patterns: Any, where: str) -> list[str]:
    if not isinstance(patterns, Mapping):
        return [f"{where}: patternProperties must be an object, not {_shown(patterns)}"]
    found = (pattern_problem(pattern) for pattern in patterns)
    return [f"{where}: patternProperties key: {problem}" for problem in found if problem]


def _subschemas(schema: Any, root: Any, problems: list[str], which: str,
                ) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every subschema reachable from ``schema``, once each, with its place; a reference
    that cannot be followed is a problem instead. A stack, not recursion: a schema nested
    a thousand levels deep is no crash."""
    stack = [(schema, "", offline_registry().resolver_with_root(root))]
    seen: set[int] = set()
    while stack:
        node, path, resolver = stack.pop()
        if not isinstance(node, Mapping) or id(node) in seen:
            continue
        seen.add(id(node))
        yield node, path
        for keyword in _REFS:
            if keyword in node:
                followed = _follow(resolver, node[keyword], keyword, _place(which, path), problems)
                if followed is not None:
                    stack.append((followed[0], _ref_place(node[keyword]), followed[1]))
        stack.extend((sub, f"{path}/{key}", _inside(resolver, sub))
                     for key, sub in reversed(list(_children(node))))


def _children(node: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The subschemas directly inside ``node``, each with its JSON Pointer step(s)."""
    for keyword in _ONE:
        value = node.get(keyword)
        if isinstance(value, list):  # older drafts' items list: looked at all the same
            yield from ((f"{keyword}/{i}", sub) for i, sub in enumerate(value))
        elif value is not None:
            yield keyword, value
    for keyword in _LIST:
        value = node.get(keyword)
        if isinstance(value, list):
            yield from ((f"{keyword}/{i}", sub) for i, sub in enumerate(value))
    for keyword in _MAP:
        value = node.get(keyword)
        if isinstance(value, Mapping):
            yield from ((f"{keyword}/{_escaped(key)}", sub) for key, sub in value.items())


def _escaped(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _inside(resolver: Any, sub: Any) -> Any:
    """The resolver within ``sub``: its ``$id``, if it has one, is the base of its refs."""
    if not isinstance(sub, Mapping) or "$id" not in sub:
        return resolver
    from referencing.jsonschema import DRAFT202012

    return resolver.in_subresource(DRAFT202012.create_resource(sub))


def _follow(resolver: Any, ref: Any, keyword: str, where: str,
            problems: list[str]) -> tuple[Any, Any] | None:
    """The schema ``ref`` leads to and its resolver, or None with the problem noted."""
    from referencing.exceptions import Unresolvable

    if not isinstance(ref, str):
        problems.append(f"{where}: {keyword} must be a string, not {_shown(ref)}")
        return None
    try:
        resolved = resolver.lookup(ref)
    except (Unresolvable, LookupError, ValueError, TypeError):
        if ref.startswith("#"):
            problems.append(f"{where}: {keyword} {_shown(ref)} points to nothing in the schema")
        else:
            problems.append(
                f"{where}: {keyword} {_shown(ref)} does not resolve inside the schema; Baton "
                "fetches no schema from anywhere: put the definition under $defs and refer "
                "to it as '#/$defs/<Name>'")
        return None
    return resolved.contents, resolved.resolver


def _ref_place(ref: str) -> str:
    """Where a reference leads, as a place in the schema (its JSON Pointer when it has one)."""
    return ref[1:] if ref.startswith("#/") else f"$ref {_shown(ref)}"


def _place(which: str, path: str) -> str:
    """``argument 'id'`` for a top-level input property, else the schema and the place in it."""
    noun = "argument" if which == "input" else "output field"
    steps = path.split("/")
    if len(steps) == 3 and steps[1] == "properties":
        return f"{noun} {steps[2].replace('~1', '/').replace('~0', '~')!r}"
    if path.startswith("/properties/"):
        name = steps[2].replace("~1", "/").replace("~0", "~")
        return f"{noun} {name!r} ({which} schema at {path})"
    return f"{which} schema at {path or '/'}"


# --- at validation ------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # patterns come from registered schemas, not from plans
def _matcher(pattern: str) -> SchemaValidator | None:
    try:
        return SchemaValidator(core_schema.str_schema(pattern=pattern, regex_engine="rust-regex"))
    except SchemaError:
        return None


def pattern_found(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text`` (JSON Schema's search, as pydantic's
    check at call time), on Rust regex: linear in the text."""
    matcher = _matcher(pattern)
    if matcher is None:  # refused at registration; a schema never checked fails closed
        return False
    try:
        matcher.validate_python(text)
    except ValidationError as exc:
        if exc.errors()[0]["type"] != "string_unicode":
            return False
        # A lone surrogate (the plan's checks report it apart): matched as U+FFFD.
        readable = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return readable != text and pattern_found(pattern, readable)
    return True


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError as SchemaValidationError

    if validator.is_type(instance, "string") and not pattern_found(pattern, instance):
        yield SchemaValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any,
                        ) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if pattern_found(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The keys of ``instance`` neither ``properties`` nor ``patternProperties`` take."""
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [key for key in instance if key not in properties
            and not any(pattern_found(pattern, key) for pattern in patterns)]


def _additional_properties(validator: Any, allowed: Any, instance: Any, schema: Any,
                           ) -> Iterator[Any]:
    """jsonschema's ``additionalProperties``, its patternProperties keys matched on Rust regex."""
    from jsonschema.exceptions import ValidationError as SchemaValidationError

    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        shown = ", ".join(repr(each) for each in sorted(extras, key=str))
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield SchemaValidationError(f"{shown} {verb} not match any of the regexes: "
                                        f"{patterns}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield SchemaValidationError(
                f"Additional properties are not allowed ({shown} {verb} unexpected)")


@functools.cache
def linear_validator_class() -> type:
    """Draft 2020-12 with every regular expression run on Rust regex (linear time)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    })


def extended_validator_class(wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> type:
    """:func:`linear_validator_class` with every keyword's check passed through ``wrap``."""
    from jsonschema import validators

    base = linear_validator_class()
    return validators.extend(base, {name: wrap(fn) for name, fn in base.VALIDATORS.items()})


def tool_validator(schema: Mapping[str, Any], validator_class: type | None = None) -> Any:
    """A validator of ``schema`` that fetches nothing and matches patterns in linear time
    (``validator_class``: one from :func:`extended_validator_class`, else the plain one)."""
    cls = validator_class or linear_validator_class()
    return cls(schema, registry=offline_registry())
