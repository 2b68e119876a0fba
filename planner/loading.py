"""Reading plan documents (JSON or YAML) into plain data, with positioned parse errors.

Parsing never raises for bad content: it returns the problems, so that the
validator can report a malformed document the same way as any other mistake.
Only an unreadable file (missing, a directory, no permission) raises.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tools import BatonError

from .problems import Problem, ProblemCode

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")
_TOO_DEEP = "the document is nested too deeply to be a plan; flatten the arguments"


class PlanFileError(BatonError):
    """A plan file could not be read at all (a usage error, not an invalid plan)."""

    code = "plan_file"


class _Refused(ValueError):
    """Raised while parsing for valid syntax that a plan must not use (repeated keys, NaN)."""


def _malformed(message: str) -> list[Problem]:
    return [Problem(code=ProblemCode.MALFORMED_DOCUMENT, path="$", message=message)]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"key {key!r} appears twice in one object; keep only one")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON; write a number or a string")


def _parse_json(text: str) -> tuple[Any, list[Problem]]:
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return None, _malformed(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        )
    except _Refused as exc:
        return None, _malformed(f"invalid JSON: {exc}")
    except RecursionError:
        return None, _malformed(_TOO_DEEP)
    return value, []


@cache  # built once: a new class (and constructor tables) per document is wasted work
def _yaml_loader() -> type:
    """A safe YAML loader that keeps timestamps as strings and refuses duplicate keys."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class PlanLoader(base):  # type: ignore[misc, valid-type]
        """SafeLoader tuned for plans: JSON-compatible values only."""

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in result:
                mark = key_node.start_mark
                raise _Refused(
                    f"key {key!r} appears twice in one mapping (line {mark.line + 1}, "
                    f"column {mark.column + 1}); keep only one"
                )
            result[key] = loader.construct_object(value_node, deep=deep)
        return result

    # Dates would become datetime objects, which are not JSON: keep the text as written.
    PlanLoader.add_constructor(
        "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
    )
    PlanLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return PlanLoader


def _parse_yaml(text: str) -> tuple[Any, list[Problem]]:
    import yaml

    try:
        value = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except _Refused as exc:
        return None, _malformed(f"invalid YAML: {exc}")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "cannot be parsed"
        return None, _malformed(f"invalid YAML{where}: {what}")
    except yaml.YAMLError as exc:
        return None, _malformed(f"invalid YAML: {exc}")
    except RecursionError:
        return None, _malformed(_TOO_DEEP)
    return value, []


def _format_for(text: str, filename: str | None) -> str:
    suffix = Path(filename).suffix.lower() if filename else ""
    if suffix in JSON_SUFFIXES:
        return "json"
    if suffix in YAML_SUFFIXES:
        return "yaml"
    return "json" if text.lstrip()[:1] in ("{", "[") else "yaml"


def load_plan_document(
    text: str | bytes, *, filename: str | None = None
) -> tuple[Any, list[Problem]]:
    """Parse a plan document; JSON or YAML by ``filename``'s extension, else by sniffing.

    Returns ``(data, problems)``; ``problems`` holds one MALFORMED_DOCUMENT
    problem with the line and column when the text cannot be parsed.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return None, _malformed(f"the document is not UTF-8 text (byte {exc.start} is invalid)")
    if not text.strip():
        return None, _malformed("the document is empty; a plan is an object with 'goal' and 'steps'")
    fmt = _format_for(text, filename)
    if fmt == "json":
        value, problems = _parse_json(text)
        if problems and filename is None:
            # Sniffed as JSON because it starts with '{': YAML flow style also does.
            yaml_value, yaml_problems = _parse_yaml(text)
            if not yaml_problems:
                return yaml_value, []
        return value, problems
    value, problems = _parse_yaml(text)
    if not problems and value is None:
        return None, _malformed("the document is empty; a plan is an object with 'goal' and 'steps'")
    return value, problems


def read_plan_file(path: str | Path) -> tuple[Any, list[Problem]]:
    """Read and parse the plan file at ``path``; ``PlanFileError`` when it cannot be read."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise PlanFileError(f"plan file {str(file)!r} does not exist") from None
    except IsADirectoryError:
        raise PlanFileError(f"plan file {str(file)!r} is a directory, not a file") from None
    except OSError as exc:
        raise PlanFileError(f"cannot read plan file {str(file)!r}: {exc.strerror or exc}") from exc
    return load_plan_document(data, filename=file.name)
