"""Which of a tool's patterns pydantic would match with Python's ``re`` when the tool is called.

Plan checks run every pattern on Rust regex (``tools.json_schema_checks``), but the call itself
validates the arguments with the input model, on the executor's event loop. There pydantic
matches a pattern with Python's backtracking ``re`` when the model's config says
``regex_engine="python-re"`` or the pattern is a compiled ``re.Pattern`` (whatever the config):
``^(a+)+$`` against 30 ``a``'s and a ``!`` then holds the GIL, and the whole run, worker or
server, for minutes. Such a tool is refused at registration rather than quietly switched to
the other engine, which would change what its patterns accept.

The walk reads the pydantic core schema, which is what validation runs, with the engine in
force at each place: a model's config replaces its parent's (pydantic-core builds a model with
its own config only); a TypedDict's or dataclass's config, where it names no engine, keeps the
parent's (what pydantic writes there already holds the parent's; keeping it fails closed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from re import Pattern
from typing import Any

from pydantic import BaseModel

PYTHON_RE = "python-re"
# Where each core schema type holds the schemas a value is validated against, by key, with the
# place that key gives in a path. Keys not named here hold values, not schemas (a default, a
# Literal's choices, a config), or schemas no input meets (serialization, JSON Schema hints,
# computed fields); definitions are reached by ref. A type not named here at all (a newer
# pydantic-core's) is walked through every value, so that nothing is missed.
_ONE_SCHEMA = (("schema", ""),)
_ITEMS = (("items_schema", "[*]"),)
_KEYS_VALUES = (("keys_schema", "[key]"), ("values_schema", "[*]"))
_SINGLE: dict[str, tuple[tuple[str, str], ...]] = {
    **dict.fromkeys(("model", "dataclass", "default", "nullable", "json", "custom-error",
                     "missing-sentinel", "definitions", "function-after", "function-before",
                     "function-wrap", "model-field", "typed-dict-field", "dataclass-field",
                     "named-tuple-field"), _ONE_SCHEMA),
    **dict.fromkeys(("list", "set", "frozenset", "deque", "generator"), _ITEMS),
    **dict.fromkeys(("dict", "ordered-dict", "counter", "frozendict"), _KEYS_VALUES),
    "lax-or-strict": (("lax_schema", ""), ("strict_schema", "")),
    "json-or-python": (("json_schema", ""), ("python_schema", "")),
    "call": (("arguments_schema", ""), ("return_schema", "")),
    "model-fields": (("extras_schema", "[*]"), ("extras_keys_schema", "[key]")),
    "typed-dict": (("extras_schema", "[*]"),),
    "arguments": (("var_args_schema", "[*]"), ("var_kwargs_schema", "[*]")),
}
# Keys holding a list of schemas (a union's choices may be (schema, label) pairs).
_LISTS = {"union": "choices", "chain": "steps", "tuple": "items_schema"}
# Keys holding fields: a mapping name -> field, or a list of fields (or parameters) with a name.
_FIELDS = {"model-fields": "fields", "typed-dict": "fields", "dataclass-args": "fields",
           "named-tuple": "fields", "arguments": "arguments_schema",
           "arguments-v3": "arguments_schema"}
# Types with nothing inside a value is validated against.
_LEAVES = frozenset({
    "any", "none", "bool", "int", "float", "decimal", "fraction", "complex", "str", "bytes",
    "date", "time", "datetime", "timedelta", "literal", "enum", "is-instance", "is-subclass",
    "callable", "url", "multi-host-url", "uuid", "ellipsis", "invalid", "function-plain",
    "definition-ref"})
_KNOWN = frozenset(_SINGLE) | frozenset(_LISTS) | frozenset(_FIELDS) | {"tagged-union"}
_MAX_SHOWN = 120


def python_re_problems(input_model: type[BaseModel], output_model: type[BaseModel]) -> list[str]:
    """The arguments and output fields whose pattern pydantic matches with Python's ``re``."""
    problems: list[str] = []
    for which, model in (("input", input_model), ("output", output_model)):
        problems.extend(_problem(which, path, pattern)
                        for path, pattern in _python_re_patterns(model))
    return problems


def _problem(which: str, path: str, pattern: Any) -> str:
    shown = pattern.pattern if isinstance(pattern, Pattern) else pattern
    text = repr(shown)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    top = path.split(".", 1)[0].split("[", 1)[0]
    noun, value = ("argument", "argument") if which == "input" else ("output field", "value")
    where = f"{noun} {top!r}" + ("" if path == top else f" (at {path})")
    return (f"{where} matches its pattern {text} with Python's re (regex_engine=\"python-re\" "
            f"or a compiled re.Pattern), which can take exponential time on a crafted {value}; "
            "give the pattern as a string on the default engine (flags inline, e.g. '(?i)')")


def _python_re_patterns(model: type[BaseModel]) -> Iterator[tuple[str, Any]]:
    """Each place in ``model``'s core schema where a pattern runs on ``re``, with the pattern."""
    try:
        schema = model.__pydantic_core_schema__
        schema.get("type")  # a model not built yet is built now, or fails here
        engine = model.model_config.get("regex_engine")
    except Exception:  # a model pydantic cannot build, nor call with: its JSON Schema check
        return  # reports it
    definitions = _definitions(schema)
    seen_refs: set[tuple[str, Any]] = set()
    stack: list[tuple[Any, str, Any]] = [(schema, "", engine)]
    while stack:  # a stack, not recursion: a deeply nested model is no crash
        node, path, engine = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend((item, path, engine) for item in reversed(node))
            continue
        if not isinstance(node, Mapping):
            continue
        kind = node.get("type")
        engine = _engine_at(node, kind, engine)
        if kind == "definition-ref":
            key = (node.get("schema_ref"), engine)
            if key not in seen_refs:  # once per engine: a model that refers to itself ends
                seen_refs.add(key)
                stack.append((definitions.get(node.get("schema_ref")), path, engine))
            continue
        pattern = node.get("pattern")
        if kind == "str" and pattern is not None and (
                isinstance(pattern, Pattern) or engine == PYTHON_RE):
            yield path, pattern
        stack.extend((child, child_path, engine)
                     for child, child_path in reversed(list(_children(node, kind, path))))


def _engine_at(node: Mapping[str, Any], kind: Any, inherited: Any) -> Any:
    """The regex engine in force at ``node`` (a schema of type ``kind``), given the one around."""
    if kind == "str":  # a str schema may name its own
        return node.get("regex_engine", inherited)
    config = node.get("config")
    if kind not in ("model", "typed-dict", "dataclass") or not isinstance(config, Mapping):
        return inherited
    if "regex_engine" in config:
        return config["regex_engine"]
    return None if kind == "model" else inherited


def _definitions(schema: Any) -> dict[str, Any]:
    """Every schema with a ``ref`` in ``schema``, by its ref (where a definition-ref leads).

    Everything is searched, whatever its key: a ref found in a place no value meets is only
    looked up, never walked from there.
    """
    found: dict[str, Any] = {}
    pending, seen = [schema], set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Mapping):
            ref = node.get("ref")
            if isinstance(ref, str) and node.get("type") != "definition-ref":
                found.setdefault(ref, node)
            pending.extend(node.values())
        elif isinstance(node, list | tuple):
            pending.extend(node)
    return found


def _children(node: Mapping[str, Any], kind: Any, path: str) -> Iterator[tuple[Any, str]]:
    """The schemas inside ``node`` (of type ``kind``) a value is validated against, with places."""
    if not isinstance(kind, str) or (kind not in _KNOWN and kind not in _LEAVES):
        yield from ((value, path) for value in node.values())  # unknown: everything, to be sure
        return
    for key, suffix in _SINGLE.get(kind, ()):
        if key in node:
            yield node[key], path + suffix
    if kind in _LISTS:
        yield node.get(_LISTS[kind]), path + ("[*]" if kind == "tuple" else "")
    if kind == "tagged-union":  # a mapping tag -> schema: its keys are values, not schema keys
        choices = node.get("choices")
        if isinstance(choices, Mapping):
            yield from ((choice, path) for choice in choices.values())
    if kind in _FIELDS:
        yield from _fields(node.get(_FIELDS[kind]), path)


def _fields(fields: Any, path: str) -> Iterator[tuple[Any, str]]:
    """Each field's (or parameter's) schema, at its name: a mapping name -> field, or a list."""
    if isinstance(fields, Mapping):  # model and TypedDict fields
        named = list(fields.items())
    elif isinstance(fields, list | tuple):  # dataclass fields, function parameters
        named = [(field.get("name"), field) for field in fields if isinstance(field, Mapping)]
    else:
        return
    for name, field in named:
        if not isinstance(field, Mapping):
            continue
        where = _joined(path, _field_name(name, field))
        # A field node has its own type (model-field...); a parameter has none: its schema.
        yield (field, where) if "type" in field else (field.get("schema"), where)


def _field_name(name: Any, field: Mapping[str, Any]) -> str:
    """The name a plan writes for a field: its alias where it has one (``json`` for ``json_``)."""
    alias = field.get("validation_alias", field.get("alias"))
    return alias if isinstance(alias, str) else str(name)


def _joined(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
