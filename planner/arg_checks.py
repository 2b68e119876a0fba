"""Checks of one step's arguments: the tool's input schema, unknown arguments and references.

Separate from the document checks in ``validation`` because this part knows
JSON Schema: it holds the per-tool schema cache and the jsonschema validators.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tools import ToolRegistry, ToolSpec
from tools.json_schema_checks import extended_validator_class, tool_validator
from tools.redaction import CUT_MARK
from tools.secret_names import REFERENCE_START, SECRET_NAME_SYNTAX, broken_references

from .json_values import MAX_ARG_DEPTH, TOO_DEEP, key_fault, plain, scalar_fault
from .plan import REF, STEP_ID, is_reference
from .schema_types import Node

# Matched in full (``fullmatch``): a ``$`` would match before a trailing newline.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_MAX_SHOWN = 160  # longest quoted value inside a message


def json_path(base: str, segments: tuple[Any, ...] | list[Any]) -> str:
    """``$.steps[2].args`` + ``("json", "total")`` → ``$.steps[2].args.json.total``."""
    parts = [base]
    for seg in segments:
        if isinstance(seg, int):
            parts.append(f"[{seg}]")
        elif _PLAIN_KEY.fullmatch(seg):
            parts.append(f".{seg}")
        else:
            parts.append(f"[{seg!r}]")
    return "".join(parts)


def shorten(text: str, limit: int = _MAX_SHOWN) -> str:
    """Cut a long message fragment so that one huge value cannot flood a report: ``text``
    as it is when at most ``limit`` characters, else cut to ``limit``, its last one the cut
    mark (a reader must see that more was left out).

    Problems are masked after they are made, with every configured secret, and a secret's
    start left before the mark is masked too.
    """
    return text if len(text) <= limit else text[: limit - 1] + CUT_MARK


def suggest(name: str, candidates: list[str], noun: str = "") -> str:
    """``" (did you mean 'x'?)"`` when something close exists, else ``""``."""
    same_but_case = [c for c in candidates if c.lower() == name.lower() and c != name]
    close = same_but_case or difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    if not close:
        return ""
    listed = " or ".join(repr(f"{noun}{c}") for c in close)
    return f" (did you mean {listed}?)"


class Suggester:
    """``suggest`` with a budget of name comparisons, so a plan full of mistakes stays linear.

    Fuzzy matching costs a comparison per candidate; with a 1,000-step plan
    whose every step names a missing id that would be a million comparisons.
    After the budget is spent, problems are still reported, without hints.
    """

    def __init__(self, budget: int = 2_000) -> None:
        self.budget = budget

    def __call__(self, name: str, candidates: Collection[str], noun: str = "") -> str:
        """Like ``suggest``, or ``""`` once the budget is spent."""
        if len(candidates) > self.budget:
            return ""
        self.budget -= len(candidates)
        return suggest(name, list(candidates), noun)


class RefSlot:
    """Stands in for a reference (or a cut-off, too-deep value) while arguments are checked against the schema."""

    __slots__ = ("target",)

    def __init__(self, target: str) -> None:
        self.target = target

    def __repr__(self) -> str:
        return f"{{'ref': {self.target!r}}}"


@dataclass(frozen=True)
class FoundRef:
    """A well-formed reference inside a step's arguments."""

    segments: tuple[Any, ...]
    target: str


@dataclass
class ScannedArgs:
    """The arguments with references replaced by slots, and what the scan found."""

    value: Any
    refs: list[FoundRef] = field(default_factory=list)
    malformed: list[tuple[tuple[Any, ...], str]] = field(default_factory=list)
    unfit: list[tuple[tuple[Any, ...], str]] = field(
        default_factory=list)  # values no plan can hold (json_values); too-deep ones cut to a slot
    broken_secrets: list[tuple[tuple[Any, ...], str]] = field(
        default_factory=list)  # text holding "${secret:" that is no whole reference


def malformed_ref_reason(value: Mapping[Any, Any]) -> str | None:
    """Why ``{"ref": ...}`` (the single key ``ref``) is not a usable reference, or None when it is one."""
    target = value["ref"]
    if not isinstance(target, str):
        return f"'ref' must be a string like 'load.text', not {type(target).__name__} {shorten(repr(target))}"
    if REF.fullmatch(target):
        return None
    if STEP_ID.fullmatch(target):
        return (
            f"reference {target!r} names a step but no output field; "
            f"write '{target}.<field>', e.g. '{target}.value'"
        )
    return (
        f"reference {shorten(repr(target))} is malformed: write '<step_id>.<field>[.<field>...]' "
        "(step ids: lower-case letters, digits, '_'; fields: letters, digits, '_', '-'), e.g. 'load.text'"
    )


def scan_args(value: Any) -> ScannedArgs:
    """Find every reference (good or malformed) and replace each by a ``RefSlot``; note unfit values.

    Objects and lists deeper than ``MAX_ARG_DEPTH`` are cut off (replaced by a slot),
    so neither this scan nor the schema check recurses without bound.
    """
    out = ScannedArgs(None)
    out.value = _scan(value, (), out)
    return out


def _scan(value: Any, segments: tuple[Any, ...], out: ScannedArgs) -> Any:
    if type(value) is str and REFERENCE_START in value:
        _note_broken_secrets(value, segments, out, "the value")
    if plain(value):  # most leaves: skip the Mapping (ABC) checks below
        return value
    if isinstance(value, Mapping | list | tuple) and len(segments) > MAX_ARG_DEPTH:
        out.unfit.append((segments, TOO_DEEP))
        return RefSlot("…")
    if isinstance(value, Mapping):
        # Only an object whose single key is 'ref' is a reference (DESIGN.md, ``is_reference``):
        # one with more keys is data, which the executor passes through as is.
        if is_reference(value):
            reason = malformed_ref_reason(value)
            if reason is None:
                out.refs.append(FoundRef(segments, value["ref"]))
                return RefSlot(value["ref"])
            out.malformed.append((segments, reason))
            return RefSlot(str(value["ref"]))
        return {_key(k): _scan_item(k, v, segments, out) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scan(v, (*segments, i), out) for i, v in enumerate(value)]
    reason = scalar_fault(value)
    if reason is not None:
        out.unfit.append((segments, reason))
    return value


def _scan_item(key: Any, value: Any, segments: tuple[Any, ...], out: ScannedArgs) -> Any:
    reason = None if type(key) is str and plain(key) else key_fault(key)
    if type(key) is str and REFERENCE_START in key:  # a key is sent like a value
        _note_broken_secrets(key, (*segments, key), out, "the key")
    if reason is not None:
        out.unfit.append(((*segments, _key(key)), reason))
    return _scan(value, (*segments, _key(key)), out)


def _note_broken_secrets(text: str, segments: tuple[Any, ...], out: ScannedArgs,
                         what: str) -> None:
    # The grammar the tools fill and the policy reads (tools.secret_names), not a second one:
    # a "${secret:" no reference matches is judged by no secret rule and filled by nothing,
    # so it reaches the tool as written (http.request refuses it only when the step runs).
    broken = broken_references(text)
    if broken:
        out.broken_secrets.append((segments, (
            f"{what} holds {', '.join(map(repr, broken))}, which is no secret reference: write "
            f"${{secret:NAME}}, NAME a letter or '_' then letters, digits, '_', '.' or '-' "
            f"({SECRET_NAME_SYNTAX}), closed by '}}'; as written no secret is filled in")))


def _key(key: Any) -> str:
    """Keys as text, so that the schema check and the paths never meet an int key (reported apart)."""
    return key if isinstance(key, str) else str(key)


def _tolerant(check: Callable[..., Any]) -> Callable[..., Any]:
    def keyword(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        if isinstance(instance, RefSlot):
            return
        yield from check(validator, value, instance, schema) or ()

    return keyword


@cache
def _slot_tolerant_class() -> type:
    """Baton's validator class (``tools.json_schema_checks``) whose every keyword accepts a
    ``RefSlot``.

    References are type-checked separately against the referenced output, so
    the input schema must neither reject nor accept them on its own.
    """
    return extended_validator_class(_tolerant)


@dataclass
class ToolSchemas:
    """Input/output schemas and compiled validators of one tool, built once per validation."""

    spec: ToolSpec
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    _plain: Any = None
    _tolerant: Any = None

    @property
    def arg_names(self) -> list[str] | None:
        """Declared argument names; None when the schema takes any name."""
        props = self.input_schema.get("properties")
        if isinstance(props, Mapping):
            return list(props)
        extra = self.input_schema.get("additionalProperties")
        return None if extra not in (None, False) else []

    def validator(self, with_refs: bool) -> Any:
        """A jsonschema validator for the arguments (slot-tolerant when references are present),
        fetching nothing and matching patterns in linear time."""
        if with_refs:
            if self._tolerant is None:
                self._tolerant = tool_validator(self.input_schema, _slot_tolerant_class())
            return self._tolerant
        if self._plain is None:
            self._plain = tool_validator(self.input_schema)
        return self._plain

    def input_node(self) -> Node:
        """The input schema as a walkable node."""
        return Node(self.input_schema, self.input_schema)

    def output_node(self) -> Node:
        """The output schema as a walkable node."""
        return Node(self.output_schema, self.output_schema)


class SchemaCache:
    """Per-tool schemas and validators keyed by tool name, so each is built once per call."""

    def __init__(self, registry: ToolRegistry) -> None:
        self.registry = registry
        self._by_name: dict[str, ToolSchemas | None] = {}

    def get(self, name: str) -> ToolSchemas | None:
        """The schemas of tool ``name``, or None when no such tool is registered."""
        if name not in self._by_name:
            if name in self.registry:
                spec = self.registry.get(name)
                self._by_name[name] = ToolSchemas(spec, spec.input_schema(), spec.output_schema())
            else:
                self._by_name[name] = None
        return self._by_name[name]


def schema_error_message(error: Any) -> str:
    """A one-line, actionable message for one jsonschema error."""
    where = ".".join(str(s) for s in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else error.message
        noun = "argument" if not where else f"field of {where!r},"
        return f"missing required {noun} {missing!r}"
    if error.validator == "additionalProperties" and where:
        return f"{where!r}: {shorten(error.message)}"
    hint = _ref_with_extras_hint(error.instance)
    branches = _branches_of_its_type(error.context) if error.context and not hint else []
    if len(branches) == 1:  # an optional value (X | None): X's own refusal, not "not null"
        from jsonschema.exceptions import relevance

        # Not best_match: it would descend into a nested anyOf, which this call reads itself.
        return schema_error_message(max(branches[0], key=relevance))
    text = shorten(error.message) + hint
    if error.context:
        from jsonschema.exceptions import best_match

        closest = best_match([e for branch in branches for e in branch] or error.context)
        text += f" (closest alternative: {shorten(closest.message)})"
    return f"argument {where!r}: {text}" if where else text


def _branches_of_its_type(context: Any) -> list[list[Any]]:
    """The errors of each ``anyOf``/``oneOf`` branch whose type the value has (a branch that
    refused the value's type refused it at its own level: an error with no relative path).

    jsonschema's ``best_match`` prefers, among such errors, those of a type the value is not:
    for ``9`` against ``{maximum: 5} | null`` it named "9 is not of type 'null'".
    """
    by_branch: dict[Any, list[Any]] = {}
    other_type: set[Any] = set()
    for sub in context:
        branch = sub.relative_schema_path[0] if sub.relative_schema_path else None
        by_branch.setdefault(branch, []).append(sub)
        if sub.validator == "type" and not sub.relative_path:
            other_type.add(branch)
    return [errors for branch, errors in by_branch.items() if branch not in other_type]


def _ref_with_extras_hint(instance: Any) -> str:
    """Why an object with 'ref' beside other keys was checked as data: it looks like a botched reference."""
    if not isinstance(instance, Mapping) or "ref" not in instance or is_reference(instance):
        return ""
    extras = sorted(str(k) for k in instance if k != "ref")
    return (f"; a reference is an object with the single key 'ref', but this one also has "
            f"{', '.join(map(repr, extras))}, so it is data: remove them to make it a reference")
