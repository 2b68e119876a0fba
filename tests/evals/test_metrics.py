"""Planner metrics are pure functions of a predicted plan and a gold answer."""

from __future__ import annotations

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
