"""Planner metrics are pure functions of a predicted plan and a gold answer."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from evals.datasets.base import GoldArg, GoldCall
from evals.metrics import Counts, arg_counts, edge_counts, normalise, summary, tool_counts
from planner.plan import Plan


def plan(*steps: dict) -> Plan:
    return Plan.model_validate({"goal": "g", "steps": list(steps)})


GOLD_PLAN = plan(
    {"id": "call_0", "tool": "getSpecies", "args": {"habitat": "forest"}},
    {"id": "call_1", "tool": "getProject", "args": {"project_id": {"ref": "call_0.species"}}},
)
GOLD = (
    GoldCall(tool="getSpecies", args=(GoldArg("habitat", ("forest",)),)),
    GoldCall(tool="getProject", args=(GoldArg("project_id", ({"ref": "call_0.species"},)),)),
)


def test_ratios_with_nothing_on_either_side_are_perfect_and_f1_is_harmonic():
    assert Counts().precision == Counts().recall == 1.0
    counts = Counts(tp=1, fp=1, fn=3)
    assert (counts.precision, counts.recall) == (0.5, 0.25)
    assert abs(counts.f1 - 2 * 0.5 * 0.25 / 0.75) < 1e-12


def test_a_plan_equal_to_gold_up_to_step_ids_and_case_scores_perfect():
    predicted = plan(
        {"id": "species", "tool": "getSpecies", "args": {"habitat": "Forest "}},
        {"id": "project", "tool": "getProject", "args": {"project_id": {"ref": "species.species"}}},
    )
    assert tool_counts(predicted, GOLD) == Counts(2, 0, 0)
    assert arg_counts(predicted, GOLD, GOLD_PLAN) == Counts(2, 0, 0)
    assert edge_counts(predicted, GOLD_PLAN) == Counts(1, 0, 0)


def test_a_reference_to_the_wrong_tool_is_a_wrong_argument_and_a_wrong_edge():
    predicted = plan(
        {"id": "a", "tool": "getSpecies", "args": {"habitat": "forest"}},
        {"id": "b", "tool": "getOther", "args": {}},
        {"id": "c", "tool": "getProject", "args": {"project_id": {"ref": "b.species"}}},
    )
    assert tool_counts(predicted, GOLD) == Counts(2, 1, 0)
    assert arg_counts(predicted, GOLD, GOLD_PLAN) == Counts(1, 1, 1)
    assert edge_counts(predicted, GOLD_PLAN) == Counts(0, 1, 1)


def test_no_plan_misses_everything_required():
    assert tool_counts(None, GOLD) == Counts(0, 0, 2)
    assert arg_counts(None, GOLD, GOLD_PLAN) == Counts(0, 0, 2)
    assert edge_counts(None, GOLD_PLAN) == Counts(0, 0, 1)


def test_optional_gold_arguments_may_be_left_out_but_not_given_wrong():
    gold = (GoldCall(tool="f", args=(GoldArg("x", (1, 2)), GoldArg("unit", ("m",), optional=True))),)
    gold_plan = plan({"id": "call_0", "tool": "f", "args": {"x": 1}})
    assert arg_counts(plan({"id": "s", "tool": "f", "args": {"x": 2}}), gold, gold_plan) == Counts(1, 0, 0)
    assert arg_counts(plan({"id": "s", "tool": "f", "args": {"x": 2, "unit": "km"}}), gold,
                      gold_plan) == Counts(1, 1, 0)
    assert arg_counts(plan({"id": "s", "tool": "f", "args": {"x": 3, "extra": 1}}), gold,
                      gold_plan) == Counts(0, 2, 1)


def test_an_invented_edge_against_edgeless_gold_has_zero_precision():
    gold_plan = plan({"id": "a", "tool": "f"}, {"id": "b", "tool": "g"})
    invented = plan({"id": "a", "tool": "f"}, {"id": "b", "tool": "g", "depends_on": ["a"]})
    counts = edge_counts(invented, gold_plan)
    assert counts == Counts(0, 1, 0) and counts.precision == 0.0 and counts.f1 == 0.0
    assert edge_counts(gold_plan, gold_plan).f1 == 1.0


def test_numbers_and_numeric_strings_compare_equal_text_is_case_folded():
    assert normalise("40.7", {}) == normalise(40.7, {}) and normalise(3, {}) == normalise(3.0, {})
    assert normalise(" Paris", {}) == normalise("paris", {})
    assert normalise([1, "A"], {}) == normalise([1.0, "a"], {})
    assert normalise(True, {}) != normalise(1, {})


def test_summary_reports_mean_median_and_p95():
    assert summary([]) == {"mean": 0.0, "p50": 0.0, "p95": 0.0}
    result = summary(float(v) for v in range(1, 101))
    assert result["mean"] == 50.5 and result["p50"] == 50.5 and result["p95"] == 95.0


def test_calls_of_one_tool_match_by_value_in_any_order():
    gold = (GoldCall("weather.get", (GoldArg("city", ("Paris",)),)),
            GoldCall("weather.get", (GoldArg("city", ("Rome",)),)))
    gold_plan = plan({"id": "a", "tool": "weather.get", "args": {"city": "Paris"}},
                     {"id": "b", "tool": "weather.get", "args": {"city": "Rome"}})
    predicted = plan({"id": "x", "tool": "weather.get", "args": {"city": "Rome"}},
                     {"id": "y", "tool": "weather.get", "args": {"city": "Paris"}})
    assert arg_counts(predicted, gold, gold_plan) == Counts(2, 0, 0)


_ARGS = st.dictionaries(st.sampled_from("abc"), st.integers(1, 3), max_size=3)
_CALLS = st.lists(st.tuples(st.sampled_from("fg"), _ARGS), max_size=4)


def _scored(step: dict | None, call: GoldCall | None, gold_plan: Plan) -> Counts:
    if step is None:
        return arg_counts(None, (call,), gold_plan) if call else Counts()
    if call is None:
        return Counts(fp=len(step["args"]))
    return arg_counts(plan(step), (call,), gold_plan)


def _best_by_brute_force(steps: list[dict], gold: tuple, gold_plan: Plan) -> Counts:
    """Every pairing of the calls of each tool: most agreeing values, fewest fp, fewest fn."""
    total = Counts()
    for tool in "fg":
        mine: list = [s for s in steps if s["tool"] == tool]
        wanted: list = [c for c in gold if c.tool == tool]
        size = max(len(mine), len(wanted))
        mine, wanted = mine + [None] * (size - len(mine)), wanted + [None] * (size - len(wanted))
        options = [sum((_scored(s, c, gold_plan) for s, c in zip(mine, order, strict=True)),
                       Counts()) for order in itertools.permutations(wanted)]
        total += min(options, key=lambda c: (-c.tp, c.fp, c.fn))
    return total


@settings(max_examples=300, deadline=None)
@given(gold_calls=_CALLS, predicted_calls=_CALLS, data=st.data())
def test_argument_scores_take_the_best_pairing_whatever_the_step_order(gold_calls, predicted_calls,
                                                                         data):
    gold = tuple(GoldCall(tool, tuple(GoldArg(k, (v,)) for k, v in args.items()))
                 for tool, args in gold_calls)
    gold_plan = plan(*({"id": f"g{i}", "tool": t, "args": a}
                       for i, (t, a) in enumerate(gold_calls)))
    steps = [{"id": f"s{i}", "tool": t, "args": a} for i, (t, a) in enumerate(predicted_calls)]
    shuffled = data.draw(st.permutations(steps))
    expected = _best_by_brute_force(steps, gold, gold_plan)
    assert arg_counts(plan(*steps), gold, gold_plan) == expected
    assert arg_counts(plan(*shuffled), gold, gold_plan) == expected
