"""The shape every benchmark record is mapped onto."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from planner.plan import Plan
from tools import ToolRegistry


@dataclass(frozen=True)
class GoldArg:
    """One gold argument: the acceptable values, and whether leaving it out is fine.

    An acceptable value may be (or, in a list, hold) a ``GoldDict``.
    """

    name: str
    acceptable: tuple[Any, ...]
    optional: bool = False


@dataclass(frozen=True)
class GoldDict:
    """A dict-valued gold value given key by key: each key's acceptable values (BFCL)."""

    fields: tuple[GoldArg, ...]


def gold_args(args: Iterable[GoldArg]) -> dict[str, Any]:
    """The gold plan's value of each argument (or key): its first acceptable value.

    One with no acceptable value, or an optional one whose first is null, is left out: null
    there is the schema's default (BFCL's ``["", null]``), which the declared type may not
    allow, and leaving the argument out is an accepted answer.
    """
    return {a.name: gold_value(a.acceptable[0]) for a in args
            if a.acceptable and not (a.optional and a.acceptable[0] is None)}


def gold_value(acceptable: Any) -> Any:
    """The plain value an acceptable value stands for: each nested key's first acceptable value."""
    if isinstance(acceptable, GoldDict):
        return gold_args(acceptable.fields)
    if isinstance(acceptable, list | tuple):
        return [gold_value(item) for item in acceptable]
    return acceptable


@dataclass(frozen=True)
class GoldCall:
    """One gold tool call."""

    tool: str
    args: tuple[GoldArg, ...]


@dataclass(frozen=True)
class EvalCase:
    """A goal, the catalogue the planner may use, and the gold answer."""

    id: str
    goal: str
    registry: ToolRegistry
    gold_calls: tuple[GoldCall, ...]
    gold_plan: Plan
