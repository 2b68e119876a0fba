"""Reading plan documents (JSON or YAML) into plain data, with positioned parse errors.

A plan is JSON data whichever way it is written: NaN and Infinity are refused
(JSON's and YAML's spellings alike, and numbers too large for a float), and YAML
is read as JSON only, with string keys and no anchors, aliases, merge keys or
tags such as ``!!set`` or ``!!binary``, each refused with its line. A plain YAML
scalar is a number, true/false or null only as YAML 1.2 reads it (numbers as JSON
writes them): YAML 1.1's ``12:30``, ``017``, ``0x1F``, ``yes`` or ``on`` stay text.

Parsing never raises for bad content: it returns the problems, so that the
validator can report a malformed document the same way as any other mistake.
Only an unreadable file (missing, a directory, a device or pipe, no permission) raises.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
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


#: What :func:`strict_yaml_loader`'s loader raises for valid YAML that a plan (or a template)
#: must not use; its message is one line naming the line and column.
YamlRefused = _Refused


def _malformed(message: str) -> list[Problem]:
    return [Problem(code=ProblemCode.MALFORMED_DOCUMENT, path="$", message=message)]


class DuplicateKeyError(_Refused):
    """A key written twice in one JSON object: which of its values was meant is not known."""


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for ``json``: the object, or ``DuplicateKeyError`` for a key
    written twice in it (``json`` would keep the last value silently). The LLM planner reads
    a model's reply with it too, so that a reply is refused as a plan file would be."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"key {key!r} appears twice in one object; keep only one")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON; write a number or a string")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: valid JSON syntax that Python reads as Infinity
        raise _Refused(f"the number {text} is too large: it would become Infinity, which a plan "
                       "cannot hash or store; write a smaller number or a string")
    return value


def _bounded_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # past Python's int-from-text limit (4,300 digits)
        raise _Refused(f"a number has too many digits ({len(text)}); write it as a string") from None


def _parse_json(text: str) -> tuple[Any, list[Problem], bool]:
    """``(value, problems, syntax_error)``: only a syntax error may mean the text is YAML instead."""
    try:
        value = json.loads(text, object_pairs_hook=no_duplicate_keys,
                           parse_constant=_reject_constant, parse_float=_finite_float,
                           parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        return None, _malformed(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ), True
    except _Refused as exc:
        return None, _malformed(f"invalid JSON: {exc}"), False
    except RecursionError:
        return None, _malformed(_TOO_DEEP), False
    return value, [], False


_YAML = "tag:yaml.org,2002:"
# What JSON can say, and dates (kept as the text written): every other tag is refused.
_JSON_TAGS = frozenset(_YAML + name for name in
                       ("str", "int", "float", "bool", "null", "seq", "map", "timestamp"))
_JSON_VALUES = "holds only JSON values (text, numbers, true/false, null, lists, mappings)"


def _at(node_or_event: Any) -> str:
    mark = node_or_event.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            fix = f"quote it ('{key_node.value}')" if isinstance(key_node.value, str) else (
                "use text as the key")
            raise _Refused(f"the key {key!r} ({_at(key_node)}) is not text: mapping keys in a "
                           f"{loader.document} are strings; {fix}")
        if key in result:
            raise _Refused(f"key {key!r} appears twice in one mapping ({_at(key_node)}); "
                           "keep only one")
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


_INT = r"-?(?:0|[1-9][0-9]*)"  # numbers as JSON writes them
_FLOAT = _INT + r"(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
# Which plain scalars are not text, as YAML 1.2 (and JSON) reads them; everything else is text.
# YAML 1.1 read 12:30 as 750, 017 as 15, 0x1F as 31 and yes/on as true: a plan keeps them as written.
_IMPLICIT = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", f"^{_INT}$", "-0123456789"),
    ("float", f"^{_FLOAT}$", "-0123456789"),  # after int: 12 is an int, 12.0 and 1e3 floats
    # Read as numbers only to be refused by name: silently kept as text they would hide a mistake.
    ("float", r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+."),
    ("merge", r"^<<$", "<"),  # refused as a tag, with its line
)
_NOT_FINITE = re.compile(r"[-+]?\.?(?:nan|inf|infinity)", re.IGNORECASE)
_BOOLS = {"true": True, "false": False}


def _not_a_json_number(node: Any, why: str) -> _Refused:
    return _Refused(f"{node.value} ({_at(node)}) is not a JSON number: {why}; write a finite "
                    "number as JSON writes it, or a quoted string")


def _construct_float(loader: Any, node: Any) -> float:
    text = loader.construct_scalar(node)
    if not re.fullmatch(_FLOAT, text):  # .nan, .inf, or an explicit !!float 1_000
        why = ("NaN and Infinity cannot be hashed or stored" if _NOT_FINITE.fullmatch(text)
               else "a number is written as JSON writes it")
        raise _not_a_json_number(node, why)
    value = float(text)
    if not math.isfinite(value):
        raise _not_a_json_number(node, "it is too large, and would become Infinity, which "
                                 "cannot be hashed or stored")
    return value


def _construct_int(loader: Any, node: Any) -> int:
    text = loader.construct_scalar(node)
    if not re.fullmatch(_INT, text):  # an explicit !!int 0x1F or 12:30
        raise _not_a_json_number(node, "an integer is written in decimal without leading zeros")
    try:
        return int(text)
    except ValueError:  # past Python's int-from-text limit (4,300 digits)
        raise _Refused(f"the number at {_at(node)} has too many digits ({len(text)}); "
                       "write it as a string") from None


def _construct_bool(loader: Any, node: Any) -> bool:
    text = loader.construct_scalar(node)
    if text.lower() not in _BOOLS:  # an explicit !!bool yes: YAML 1.1, not JSON
        raise _Refused(f"{text} ({_at(node)}) is not a JSON boolean; write true or false")
    return _BOOLS[text.lower()]


def read_scalars_as_json(loader: type) -> None:
    """Make the YAML ``loader`` class read plain scalars as YAML 1.2 and JSON do (``_IMPLICIT``).

    Plans and templates (which become plans) share it: ``12:30``, ``017`` or ``yes`` stay text.
    """
    loader.yaml_implicit_resolvers = {}  # its own table: SafeLoader's holds YAML 1.1's rules
    for name, pattern, first in _IMPLICIT:
        loader.add_implicit_resolver(_YAML + name, re.compile(pattern), list(first))


def anchor_of(event: Any) -> str | None:
    """The anchor a YAML event names (``&a`` on a node, or an alias ``*a``), if any: plans
    and templates refuse both before they are resolved, so an alias bomb never expands and
    a structure cannot contain itself."""
    from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

    if isinstance(event, AliasEvent | ScalarEvent | CollectionStartEvent) and event.anchor:
        return event.anchor
    return None


def strict_yaml_loader(document: str = "plan") -> type:
    """The YAML loader plans are read with, for what becomes a plan too (a template file).

    JSON values only, string keys, no anchors, aliases, merge keys or other tags: each is
    refused (``YamlRefused``) with its line, its message calling the text a ``document``.
    Shared, not copied: a template read more loosely than a plan (``!!int 017`` as 15, a key
    written twice) made plans no plan file could state.
    """
    return _yaml_loader(document)


@cache  # built once: a new class (and constructor tables) per document is wasted work
def _yaml_loader(document: str = "plan") -> type:
    """A safe YAML loader for plans: JSON values only, string keys, no anchors, aliases or other tags."""
    import yaml
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    base: type = yaml.SafeLoader
    if hasattr(yaml, "CSafeLoader"):
        from yaml.cyaml import CParser

        class LibyamlLoader(Composer, CParser, SafeConstructor, Resolver):  # type: ignore[misc]
            """libyaml parses (fast); Python's Composer builds the nodes, where anchors show."""

            def __init__(self, stream: Any) -> None:
                CParser.__init__(self, stream)
                Composer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)

        base = LibyamlLoader

    class PlanLoader(base):  # type: ignore[misc, valid-type]
        """Refuses, with their line, what JSON cannot say; an alias bomb is refused before it expands."""

        document: str  # set below (a class body cannot read ``document``): what refusals say

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            anchor = anchor_of(event)
            if anchor is not None:
                raise _Refused(f"anchors and aliases (&{anchor}, *{anchor}) are not allowed "
                               f"in a {self.document} ({_at(event)}); write each value out")
            node = super().compose_node(parent, index)
            if node.tag not in _JSON_TAGS:
                shown = node.tag.replace(_YAML, "!!", 1)
                raise _Refused(f"the tag {shown!r} ({_at(node)}) is not allowed: a "
                               f"{self.document} {_JSON_VALUES}")
            return node

    PlanLoader.document = document
    read_scalars_as_json(PlanLoader)
    # Dates would become datetime objects, which are not JSON: an explicit !!timestamp stays text.
    PlanLoader.add_constructor(_YAML + "timestamp", lambda loader, node: loader.construct_scalar(node))
    PlanLoader.add_constructor(_YAML + "map", _construct_mapping)
    PlanLoader.add_constructor(_YAML + "float", _construct_float)
    PlanLoader.add_constructor(_YAML + "int", _construct_int)
    PlanLoader.add_constructor(_YAML + "bool", _construct_bool)
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
        value, problems, syntax_error = _parse_json(text)
        if syntax_error and filename is None:
            # Sniffed as JSON because it starts with '{': YAML flow style also does. Not after a
            # refusal, though: YAML would read NaN or a repeated key as something else, silently.
            yaml_value, yaml_problems = _parse_yaml(text)
            if not yaml_problems:
                return yaml_value, []
        return value, problems
    value, problems = _parse_yaml(text)
    if not problems and value is None:
        return None, _malformed("the document is empty; a plan is an object with 'goal' and 'steps'")
    return value, problems


def file_problem(path: Path, what: str) -> str | None:
    """Why the file at ``path`` cannot be read as a ``what`` ("plan file"), or None.

    Only a regular file is read: a device (``/dev/zero``) or a pipe would be read without end,
    a directory not at all. The check does not open the file, so a pipe with no writer does
    not block it.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"{what} {str(path)!r} does not exist"
    except OSError as exc:
        return f"cannot read {what} {str(path)!r}: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return f"{what} {str(path)!r} is a directory, not a file"
    if not stat.S_ISREG(mode):
        return (f"{what} {str(path)!r} is not a regular file (a device, pipe or socket); "
                "save the document to a file and name that")
    return None


def read_plan_file(path: str | Path, *, max_bytes: int | None = None) -> tuple[Any, list[Problem]]:
    """Read and parse the plan file at ``path``; ``PlanFileError`` when it cannot be read, or
    is larger than ``max_bytes`` (None: any size).

    The size is checked before the file is read, and no more than one byte past the limit is
    read in any case (a file growing meanwhile): parsing and validating a document costs
    many times its size in time and memory.
    """
    file = Path(path)
    problem = file_problem(file, "plan file")
    if problem is not None:
        raise PlanFileError(problem)
    try:
        with file.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise PlanFileError(_too_large(file, size, max_bytes))
            data = stream.read() if max_bytes is None else stream.read(max_bytes + 1)
    except FileNotFoundError:  # removed since it was checked
        raise PlanFileError(f"plan file {str(file)!r} does not exist") from None
    except OSError as exc:
        raise PlanFileError(f"cannot read plan file {str(file)!r}: {exc.strerror or exc}") from exc
    if max_bytes is not None and len(data) > max_bytes:  # it grew after its size was read
        raise PlanFileError(_too_large(file, len(data), max_bytes, grew=True))
    return load_plan_document(data, filename=file.name)


def _too_large(file: Path, size: int, max_bytes: int, *, grew: bool = False) -> str:
    """Why a plan file of ``size`` bytes is not read: the limit, in MiB too when whole."""
    mib = f" ({max_bytes // 2**20} MiB)" if max_bytes % 2**20 == 0 else ""
    return (f"plan file {str(file)!r} is {'at least ' if grew else ''}{size:,} bytes, larger "
            f"than {max_bytes:,} bytes{mib}, the most a plan document may hold: split the plan "
            "or shorten its arguments")
