"""Planner metrics: pure functions over a predicted plan and a gold answer.

Calls are matched by tool name (each gold call at most once, the best
argument agreement first), so step ids never matter. A reference is compared
as (referenced tool, field path); an edge as (from tool, to tool). Counts are
summed over cases (micro average); a ratio with nothing on either side is
1.0, so a plan without edges scores perfect edge precision, and one invented
edge against an edge-less gold (BFCL) drives precision to 0.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planner.plan import Plan, is_reference

from .datasets.base import GoldArg, GoldCall


@dataclass(frozen=True)
class Counts:
    """True positives, false positives, false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        """Counts and ratios, for the JSON result."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": self.precision,
                "recall": self.recall, "f1": self.f1}


def normalise(value: Any, tool_of: Mapping[str, str]) -> Any:
    """A comparable form: numbers (and numeric strings) as floats, text case-folded, refs by tool."""
    if is_reference(value) and isinstance(value["ref"], str):
        step, _, path = value["ref"].partition(".")
        return ("ref", tool_of.get(step, step), path)
    if isinstance(value, bool):
        return ("bool", value)  # True == 1.0 in Python; a boolean is not a number here
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value.strip().casefold()
    if isinstance(value, list | tuple):
        return tuple(normalise(v, tool_of) for v in value)
    if isinstance(value, Mapping):
        return json.dumps({k: normalise(v, tool_of) for k, v in value.items()}, sort_keys=True,
                          default=str)
    return value


def _tools_of(plan: Plan) -> dict[str, str]:
    return {s.id: s.tool for s in plan.steps}


def tool_counts(predicted: Plan | None, gold: Sequence[GoldCall]) -> Counts:
    """Tool names as multisets."""
    pred = Counter(s.tool for s in predicted.steps) if predicted else Counter()
    want = Counter(c.tool for c in gold)
    tp = sum((pred & want).values())
    return Counts(tp, sum(pred.values()) - tp, sum(want.values()) - tp)


def _arg_counts(args: Mapping[str, Any], call: GoldCall | None, tool_of: Mapping[str, str],
                gold_tool_of: Mapping[str, str]) -> Counts:
    if call is None:
        return Counts(fp=len(args))
    tp = fp = fn = 0
    for gold_arg in call.args:
        if gold_arg.name not in args:
            fn += 0 if gold_arg.optional else 1
        elif _accepts(gold_arg, args[gold_arg.name], tool_of, gold_tool_of):
            tp += 1
        else:
            fp, fn = fp + 1, fn + (0 if gold_arg.optional else 1)
    known = {a.name for a in call.args}
    fp += sum(1 for name in args if name not in known)
    return Counts(tp, fp, fn)


def _accepts(arg: GoldArg, value: Any, tool_of: Mapping[str, str],
             gold_tool_of: Mapping[str, str]) -> bool:
    got = normalise(value, tool_of)
    return any(normalise(ok, gold_tool_of) == got for ok in arg.acceptable)


def match_calls(predicted: Plan, gold: Sequence[GoldCall]) -> list[tuple[int, int | None]]:
    """(predicted step index, gold call index or None): same tool, most agreeing arguments first."""
    free = set(range(len(gold)))
    pairs: list[tuple[int, int | None]] = []
    for i, step in enumerate(predicted.steps):
        options = [j for j in sorted(free) if gold[j].tool == step.tool]
        best = max(options, key=lambda j: len(set(step.args) & {a.name for a in gold[j].args}),
                   default=None)
        if best is not None:
            free.discard(best)
        pairs.append((i, best))
    return pairs


def arg_counts(predicted: Plan | None, gold: Sequence[GoldCall], gold_plan: Plan) -> Counts:
    """(tool, argument, value) triples; an optional gold argument may be left out."""
    missed = lambda calls: sum(1 for c in calls for a in c.args if not a.optional)  # noqa: E731
    if predicted is None:
        return Counts(fn=missed(gold))
    total, used = Counts(), set()
    tool_of, gold_tool_of = _tools_of(predicted), _tools_of(gold_plan)
    for i, j in match_calls(predicted, gold):
        call = gold[j] if j is not None else None
        used.add(j)
        total += _arg_counts(predicted.steps[i].args, call, tool_of, gold_tool_of)
    return total + Counts(fn=missed([c for j, c in enumerate(gold) if j not in used]))


def edges(plan: Plan) -> Counter[tuple[str, str]]:
    """(from tool, to tool) for every dependency, references and depends_on alike."""
    tool_of = _tools_of(plan)
    return Counter((tool_of.get(dep, dep), step.tool) for step in plan.steps
                   for dep in step.dependencies())


def edge_counts(predicted: Plan | None, gold_plan: Plan) -> Counts:
    """Dependency edges as multisets of tool pairs."""
    pred = edges(predicted) if predicted else Counter()
    want = edges(gold_plan)
    tp = sum((pred & want).values())
    return Counts(tp, sum(pred.values()) - tp, sum(want.values()) - tp)


def summary(values: Iterable[float]) -> dict[str, float]:
    """Mean, median and 95th percentile (0 for an empty list)."""
    data = sorted(values)
    if not data:
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0}
    p95 = data[min(len(data) - 1, round(0.95 * (len(data) - 1)))]
    return {"mean": statistics.fmean(data), "p50": statistics.median(data), "p95": p95}
