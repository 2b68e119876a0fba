"""The plan contract: the typed DAG of tool calls that every part of Baton shares.

Wire format (JSON or YAML)::

    {"goal": "...", "steps": [{"id": "load", "tool": "files.read",
      "args": {"path": "sales.csv"}, "why": "...", "depends_on": []}]}

Anywhere inside ``args`` a value may be a reference ``{"ref": "step.field.path"}``
into an earlier step's declared output; a reference implies a dependency.
The plan hash (SHA-256 of the canonical JSON of ``{goal, steps}``) is what
approvals bind to.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tools import RetryPolicy
from tools.registry import MAX_TIMEOUT_S

_STEP_ID_FORM = r"[a-z][a-z0-9_]{0,39}"
_REF_FORM = rf"{_STEP_ID_FORM}(\.[A-Za-z0-9_\-]+)+"
# The models' patterns run on pydantic's Rust regex, where '$' is the end of the text.
STEP_ID_PATTERN = rf"^{_STEP_ID_FORM}$"
REF_PATTERN = rf"^{_REF_FORM}$"
# Python's '$' also matches before a final newline ("load\n"): the compiled forms end in
# '\Z' instead, and are used with fullmatch, so that they refuse what the models refuse.
STEP_ID = re.compile(rf"{_STEP_ID_FORM}\Z")
REF = re.compile(rf"{_REF_FORM}\Z")

JsonPath = str


class Reference(BaseModel):
    """A pointer from an argument to a field of an earlier step's output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ref: str = Field(
        pattern=REF_PATTERN,
        description="'<step_id>.<field>[.<field>...]': a path into that step's output; "
        "numeric segments index lists.",
    )

    @property
    def step(self) -> str:
        """The id of the referenced step."""
        return self.ref.split(".", 1)[0]

    @property
    def path(self) -> tuple[str, ...]:
        """The field path inside the referenced step's output."""
        return tuple(self.ref.split(".")[1:])


class TemplateOrigin(BaseModel):
    """Which template (and version) a plan was instantiated from, with what parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Template name.")
    version: int = Field(ge=1, description="Template version.")
    params: dict[str, Any] = Field(default_factory=dict, description="Parameter values used.")


# Where a Step keeps the references found in its args (see Step._found_references).
_REFERENCES_MEMO = "_references_memo"


class Step(BaseModel):
    """One tool call in a plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=STEP_ID_PATTERN, description="Unique step id: lower-case, digits, '_'.")
    tool: str = Field(min_length=1, description="Name of a registered tool.")
    args: dict[str, Any] = Field(
        default_factory=dict,
        description="Arguments for the tool; any value may be a reference {'ref': 'step.field'}.",
    )
    depends_on: tuple[str, ...] = Field(
        default=(), description="Extra ordering: steps that must finish first though no data flows."
    )
    why: str | None = Field(default=None, description="One-line rationale shown to approvers.")
    retry: RetryPolicy | None = Field(default=None, description="Overrides the tool's retry policy.")
    # Strict: "30", "1e2" and true are not read as seconds (a whole number still is); the
    # approver must see the limit the step runs with. The retry policy is strict as well.
    timeout_s: float | None = Field(
        default=None, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False, strict=True,
        description="Overrides the tool's time limit for one attempt (seconds, at most 86400: 24 h).",
    )

    def references(self) -> list[tuple[JsonPath, Reference]]:
        """Every reference inside ``args`` with its JSON path (e.g. ``$.args.json.total``)."""
        return list(self._found_references())

    def _found_references(self) -> tuple[tuple[JsonPath, Reference], ...]:
        """The references of ``args``, found by one walk that later calls share.

        ``references()``, ``dependencies()`` and whoever calls them (the policy input asks for
        both, and for every step's data sources; the runner and the web graph for dependencies)
        would otherwise each walk all of ``args``: seconds for a step holding millions of values.
        The memo sits in the instance ``__dict__`` as ``functools.cached_property`` would put
        it: not a field, so dumps, the hash, equality and the JSON Schema never see it. It is
        kept with the ``args`` it was found in, so that a ``model_copy(update={"args": ...})``,
        which copies ``__dict__``, walks its new arguments instead of reusing the old ones.
        """
        memo = self.__dict__.get(_REFERENCES_MEMO)
        if memo is None or memo[0] is not self.args:
            memo = (self.args, tuple(iter_references(self.args, "$.args")))
            self.__dict__[_REFERENCES_MEMO] = memo
        return memo[1]

    def dependencies(self) -> tuple[str, ...]:
        """Ids of the steps this one waits for: referenced ones, then ``depends_on``; no repeats."""
        seen: dict[str, None] = {}
        for _, ref in self._found_references():
            seen.setdefault(ref.step, None)
        for dep in self.depends_on:
            seen.setdefault(dep, None)
        return tuple(seen)


class Plan(BaseModel):
    """A goal and the steps that achieve it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal: str = Field(min_length=1, description="The goal in plain language.")
    steps: tuple[Step, ...] = Field(description="The tool calls, in plan order.")

    def step(self, step_id: str) -> Step:
        """The step with id ``step_id`` (KeyError if absent)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def to_wire(self) -> dict[str, Any]:
        """The plan as plain JSON data, without defaulted fields (what hashing and storage use)."""
        return self.model_dump(mode="json", exclude_defaults=True)

    def canonical_json(self) -> str:
        """Sorted keys, no insignificant whitespace: the bytes the hash is taken over."""
        wire = self.to_wire()
        return canonical_json({"goal": wire["goal"], "steps": wire.get("steps", [])})

    def plan_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of ``{goal, steps}``; approvals bind to it."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def topological_order(self) -> list[str]:
        """Step ids with dependencies first, ties broken by plan order.

        Raises ``ValueError`` when the steps do not form a DAG; use the
        validator for a report that names the cycle.
        """
        return topological_order(self.steps)


# What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds
# on every call, built once: the executor serialises several payloads per step.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Canonical JSON: sorted keys, compact separators, UTF-8 characters kept as is."""
    return _CANONICAL.encode(value)


def is_reference(value: Any) -> bool:
    """True for an object whose single key is ``ref``."""
    return isinstance(value, Mapping) and len(value) == 1 and "ref" in value


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def iter_references(value: Any, path: JsonPath = "$") -> Iterator[tuple[JsonPath, Reference]]:
    """Yield ``(json_path, Reference)`` for every well-formed reference inside ``value``."""
    found: list[tuple[JsonPath, Reference]] = []
    _collect_references(value, path, found)
    yield from found


def _collect_references(
    value: Any, path: JsonPath, found: list[tuple[JsonPath, Reference]]
) -> None:
    """Append the references inside ``value`` to ``found``, depth first, in document order.

    A plain function, not nested generators, and scalars are skipped before their path is
    built: most of a big argument tree is leaves, and neither can hold a reference.
    """
    if is_reference(value):
        target = value["ref"]
        if isinstance(target, str) and REF.fullmatch(target):
            found.append((path, Reference(ref=target)))
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if type(item) not in _SCALAR_TYPES:
                _collect_references(item, f"{path}.{key}", found)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if type(item) not in _SCALAR_TYPES:
                _collect_references(item, f"{path}[{index}]", found)


def resolve_references(value: Any, lookup: Callable[[Reference], Any]) -> Any:
    """A copy of ``value`` with every reference replaced by ``lookup(reference)``."""
    if type(value) in _SCALAR_TYPES:  # most leaves: skip the Mapping (ABC) checks below
        return value
    if is_reference(value) and isinstance(value["ref"], str) and REF.fullmatch(value["ref"]):
        return lookup(Reference(ref=value["ref"]))
    if isinstance(value, Mapping):
        return {key: resolve_references(item, lookup) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve_references(item, lookup) for item in value]
    return value


def follow_path(value: Any, path: tuple[str, ...]) -> Any:
    """Walk ``path`` (keys, or list indices as digits) into ``value``; KeyError names the segment."""
    current = value
    for depth, segment in enumerate(path):
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            walked = ".".join(path[:depth]) or "<output>"
            raise KeyError(f"{walked} has no field {segment!r}")
    return current


def topological_order(steps: tuple[Step, ...] | list[Step]) -> list[str]:
    """Kahn's algorithm with a heap on plan position: deterministic, ties by plan order."""
    ids = [step.id for step in steps]
    known = set(ids)
    return order_by_dependencies(
        ids, {step.id: tuple(d for d in step.dependencies() if d in known) for step in steps})


def order_by_dependencies(ids: Sequence[str], deps: Mapping[str, Sequence[str]]) -> list[str]:
    """:func:`topological_order` given each step's dependencies already worked out (ids in plan order)."""
    position = {sid: index for index, sid in enumerate(ids)}
    waiting_on: dict[str, set[str]] = {}
    dependents: dict[str, list[str]] = {sid: [] for sid in ids}
    for sid in ids:
        waiting_on[sid] = set(deps[sid])
        for dep in waiting_on[sid]:
            dependents[dep].append(sid)
    ready = [position[sid] for sid, waits in waiting_on.items() if not waits]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        sid = ids[heapq.heappop(ready)]
        order.append(sid)
        for child in dependents[sid]:
            waiting_on[child].discard(sid)
            if not waiting_on[child]:
                heapq.heappush(ready, position[child])
    if len(order) != len(ids):
        placed = set(order)
        stuck = [sid for sid in ids if sid not in placed]
        raise ValueError(f"steps form a cycle: {', '.join(stuck)}")
    return order


def plan_json_schema() -> dict[str, Any]:
    """JSON Schema of the plan wire format."""
    return Plan.model_json_schema()
