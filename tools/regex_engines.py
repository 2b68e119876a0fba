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
# Keys whose value no input is validated against (serialisation, JSON Schema hints) or that are
# values rather than schemas (a default, a Literal's choices); definitions are reached by ref.
_SKIPPED = frozenset({"metadata", "serialization", "computed_fields", "config", "default",
                      "expected", "members", "json_schema_input_schema", "definitions"})
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
    definitions = dict(_definitions(schema))
    seen_refs: set[tuple[str, Any]] = set()
    stack: list[tuple[Any, str, Any]] = [(schema, "", engine)]
    while stack:  # a stack, not recursion: a deeply nested model is no crash
        node, path, engine = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend((item, path, engine) for item in reversed(node))
            continue
        if not isinstance(node, Mapping):
            continue
        engine = _engine_at(node, engine)
        if node.get("type") == "definition-ref":
            key = (node.get("schema_ref"), engine)
            if key not in seen_refs:  # once per engine: a model that refers to itself ends
                seen_refs.add(key)
                stack.append((definitions.get(node.get("schema_ref")), path, engine))
            continue
        pattern = node.get("pattern")
        if node.get("type") == "str" and pattern is not None and (
                isinstance(pattern, Pattern) or engine == PYTHON_RE):
            yield path, pattern
        stack.extend((child, child_path, engine)
                     for child, child_path in reversed(list(_children(node, path))))


def _engine_at(node: Mapping[str, Any], inherited: Any) -> Any:
    """The regex engine in force at ``node``, given the one around it."""
    if "regex_engine" in node:  # a str schema may name its own
        return node["regex_engine"]
    config = node.get("config")
    if not isinstance(config, Mapping):
        return inherited
    if "regex_engine" in config:
        return config["regex_engine"]
    return None if node.get("type") == "model" else inherited


def _definitions(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every schema with a ``ref`` in ``schema``, by its ref (where a definition-ref leads)."""
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            if isinstance(node.get("ref"), str):
                yield node["ref"], node
            pending.extend(v for k, v in node.items() if k not in _SKIPPED or k == "definitions")
        elif isinstance(node, list | tuple):
            pending.extend(node)


def _children(node: Mapping[str, Any], path: str) -> Iterator[tuple[Any, str]]:
    """The schemas inside ``node`` a value is validated against, each with its place."""
    for key, value in node.items():
        if key in _SKIPPED:
            continue
        if key == "fields" and isinstance(value, Mapping):  # model and TypedDict fields
            yield from ((field, _joined(path, _field_name(name, field)))
                        for name, field in value.items())
        elif key == "fields" and isinstance(value, list):  # dataclass fields
            yield from ((field, _joined(path, _field_name(field.get("name"), field)))
                        for field in value if isinstance(field, Mapping))
        elif key in ("items_schema", "values_schema"):
            yield value, f"{path}[*]"
        elif key == "keys_schema":
            yield value, f"{path}[key]"
        else:
            yield value, path


def _field_name(name: Any, field: Mapping[str, Any]) -> str:
    """The name a plan writes for a field: its alias where it has one (``json`` for ``json_``)."""
    alias = field.get("validation_alias")
    return alias if isinstance(alias, str) else str(name)


def _joined(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
