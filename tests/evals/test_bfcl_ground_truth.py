"""BFCL ground truth: a dict value lists the acceptable values of each of its keys."""

from __future__ import annotations

from typing import Any

from evals.datasets.bfcl import case
from evals.metrics import Counts, arg_counts
from planner.plan import Plan

QUESTION = {
    "id": "nested",
    "question": [[{"role": "user", "content": "A condo for 500k to 800k, and a large coffee."}]],
    "function": [
        {"name": "find", "parameters": {"type": "dict", "required": ["budget"], "properties": {
            "budget": {"type": "dict"}, "kind": {"type": "string"}}}},
        {"name": "drink", "parameters": {"type": "dict", "required": ["prefs"], "properties": {
            "prefs": {"type": "dict"}}}},
    ],
}
ANSWER = {"id": "nested", "ground_truth": [
    {"find": {"budget": [{"min": [500000, "500k"], "max": [800000]}], "kind": ["condo"]}},
    {"drink": {"prefs": [{"size": ["large"], "sweetness": ["", "regular"], "notes": [""]}]}},
]}


def score(budget: Any, prefs: Any) -> Counts:
    predicted = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "find", "args": {"budget": budget, "kind": "condo"}},
        {"id": "b", "tool": "drink", "args": {"prefs": prefs}}]})
    nested = case(QUESTION, ANSWER)
    return arg_counts(predicted, nested.gold_calls, nested.gold_plan)


def test_gold_plan_takes_the_first_acceptable_value_of_each_nested_key():
    gold = case(QUESTION, ANSWER).gold_plan
    assert gold.step("call_0").args == {"budget": {"min": 500000, "max": 800000}, "kind": "condo"}
    assert gold.step("call_1").args == {"prefs": {"size": "large", "sweetness": "regular"}}


def test_any_listed_value_of_a_nested_key_is_accepted_and_empty_means_it_may_be_left_out():
    assert score({"min": 500000, "max": 800000}, {"size": "large", "sweetness": "regular"}) \
        == Counts(3, 0, 0)
    assert score({"min": "500K", "max": 800000.0}, {"size": "Large"}) == Counts(3, 0, 0)


def test_a_nested_value_wrong_missing_or_unknown_makes_the_argument_wrong():
    assert score({"min": 500000}, {"size": "large"}) == Counts(2, 1, 1)
    assert score({"min": 500000, "max": 800000}, {"size": "large", "sweetness": "extra"}) \
        == Counts(2, 1, 1)
    assert score({"min": 500000, "max": 800000}, {"size": "large", "colour": "red"}) \
        == Counts(2, 1, 1)
    assert score([500000, 800000], {}) == Counts(1, 2, 2)
