"""The shape every benchmark record is mapped onto."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.plan import Plan
from tools import ToolRegistry


@dataclass(frozen=True)
class GoldArg:
    """One gold argument: the acceptable values, and whether leaving it out is fine."""

    name: str
    acceptable: tuple[Any, ...]
    optional: bool = False


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
