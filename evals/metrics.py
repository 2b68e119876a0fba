"""Planner metrics: pure functions over a predicted plan and a gold answer.

Calls are matched by tool name, each gold call at most once, calls of one tool
paired to agree on the most argument values (an optimal assignment), so
neither step ids nor step order ever matter. A reference is compared
as (referenced tool, field path); an edge as (from tool, to tool). Counts are
summed over cases (micro average); a ratio with nothing on either side is
1.0, so a plan without edges scores perfect edge precision, and one invented
edge against an edge-less gold (BFCL) drives precision to 0.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planner.plan import Plan, is_reference

from .datasets.base import GoldArg, GoldCall, GoldDict


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
            number = float(value)
        except ValueError:
            number = math.nan
        # "nan" would become a float that equals nothing, itself included: such words are text.
        return number if math.isfinite(number) else value.strip().casefold()
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
    return any(_agrees(ok, value, tool_of, gold_tool_of) for ok in arg.acceptable)


def _agrees(ok: Any, value: Any, tool_of: Mapping[str, str],
            gold_tool_of: Mapping[str, str]) -> bool:
    """Whether ``value`` is the acceptable value ``ok`` (a ``GoldDict`` is checked key by key)."""
    if isinstance(ok, GoldDict):
        # Any listed value per key; an optional key may be left out, an unlisted one is wrong.
        if not isinstance(value, Mapping) or is_reference(value):
            return False
        if set(value) - {f.name for f in ok.fields}:
            return False
        return all(_accepts(f, value[f.name], tool_of, gold_tool_of) if f.name in value
                   else f.optional for f in ok.fields)
    if isinstance(ok, list | tuple):
        return (isinstance(value, list | tuple) and len(value) == len(ok)
                and all(_agrees(o, v, tool_of, gold_tool_of)
                        for o, v in zip(ok, value, strict=True)))
    return normalise(ok, gold_tool_of) == normalise(value, tool_of)


def match_calls(predicted: Plan, gold: Sequence[GoldCall],
                gold_plan: Plan) -> list[tuple[int, int | None]]:
    """(predicted step index, gold call index or None): calls of one tool paired by their values.

    Among the pairings that match as many calls as possible, the one with the most
    agreeing values, then the fewest false positives, then the fewest false
    negatives (an unpaired call counting whole), so step order never changes a score.
    """
    tool_of, gold_tool_of = _tools_of(predicted), _tools_of(gold_plan)
    pairs: dict[int, int | None] = dict.fromkeys(range(len(predicted.steps)))
    for tool in dict.fromkeys(s.tool for s in predicted.steps):
        rows = [i for i, s in enumerate(predicted.steps) if s.tool == tool]
        cols = [j for j, c in enumerate(gold) if c.tool == tool]
        if not cols:
            continue
        # Unpaired calls are dummy columns (or rows) costing what they count alone.
        size = max(len(rows), len(cols))
        table = [[_pair_counts(predicted.steps[i].args if i is not None else None,
                               gold[j] if j is not None else None, tool_of, gold_tool_of)
                  for j in _padded(cols, size)] for i in _padded(rows, size)]
        for r, c in _assign(_lexicographic_costs(table)):
            if r < len(rows) and c < len(cols):
                pairs[rows[r]] = cols[c]
    return sorted(pairs.items())


def _padded(items: list[int], size: int) -> list[int | None]:
    return [*items, *[None] * (size - len(items))]


def _pair_counts(args: Mapping[str, Any] | None, call: GoldCall | None, tool_of: Mapping[str, str],
                 gold_tool_of: Mapping[str, str]) -> Counts:
    if args is None:
        return Counts(fn=_required(call)) if call is not None else Counts()
    return _arg_counts(args, call, tool_of, gold_tool_of)


def _required(call: GoldCall) -> int:
    return sum(1 for a in call.args if not a.optional)


def _lexicographic_costs(table: list[list[Counts]]) -> list[list[int]]:
    """One integer per cell ordering totals by (most tp, fewest fp, fewest fn)."""
    base = 1 + sum(c.tp + c.fp + c.fn for row in table for c in row)
    return [[-c.tp * base * base + c.fp * base + c.fn for c in row] for row in table]


def _assign(cost: list[list[int]]) -> list[tuple[int, int]]:
    """(row, column) pairs of a minimum-cost assignment on a square matrix.

    The Hungarian algorithm (potentials, O(n³)) rather than trying every
    permutation: the benchmarks repeat a tool at most 4 times per case, but a
    model may emit a dozen calls of one tool, and 12! pairings is too many. It
    is deterministic: ties go to the lower index. (scipy is not a dependency.)
    """
    n = len(cost)
    u, v = [0] * (n + 1), [0] * (n + 1)
    owner, way = [0] * (n + 1), [0] * (n + 1)  # owner[column]: its row, 1-based; 0 = free
    for row in range(1, n + 1):
        owner[0], col = row, 0
        least, used = [float("inf")] * (n + 1), [False] * (n + 1)
        while owner[col]:
            used[col] = True
            r, delta, nxt = owner[col], float("inf"), 0
            for j in range(1, n + 1):
                if not used[j]:
                    reduced = cost[r - 1][j - 1] - u[r] - v[j]
                    if reduced < least[j]:
                        least[j], way[j] = reduced, col
                    if least[j] < delta:
                        delta, nxt = least[j], j
            for j in range(n + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    least[j] -= delta
            col = nxt
        while col:
            owner[col] = owner[way[col]]
            col = way[col]
    return sorted((owner[j] - 1, j - 1) for j in range(1, n + 1))


def arg_counts(predicted: Plan | None, gold: Sequence[GoldCall], gold_plan: Plan) -> Counts:
    """(tool, argument, value) triples; an optional gold argument may be left out."""
    if predicted is None:
        return Counts(fn=sum(_required(c) for c in gold))
    total, used = Counts(), set()
    tool_of, gold_tool_of = _tools_of(predicted), _tools_of(gold_plan)
    for i, j in match_calls(predicted, gold, gold_plan):
        call = gold[j] if j is not None else None
        used.add(j)
        total += _arg_counts(predicted.steps[i].args, call, tool_of, gold_tool_of)
    return total + Counts(fn=sum(_required(c) for j, c in enumerate(gold) if j not in used))


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
