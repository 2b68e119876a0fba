"""BFCL: an optional argument whose ground truth is ["", null] is left out of the gold plan (null
is the schema's default, not always a value its type allows)."""

from __future__ import annotations

from evals.datasets.bfcl import case
from evals.harness import sample
from evals.metrics import Counts, arg_counts
from planner.plan import Plan

QUESTION = {
    "id": "optional-null",
    "question": [[{"role": "user", "content": "Clone the repo and describe class Weather."}]],
    "function": [
        {"name": "clone_repo", "parameters": {"type": "dict", "required": ["repo_url"],
                                              "properties": {
            "repo_url": {"type": "string"},
            "depth": {"type": "integer", "default": None},
            "branch": {"type": "string", "default": None},
            "options": {"type": "dict", "properties": {"filter": {"type": "string"}}}}}},
    ],
}
ANSWER = {"id": "optional-null", "ground_truth": [
    {"clone_repo": {"repo_url": ["https://example.com/r.git"], "depth": ["", None],
                    "branch": [None, "main"],
                    "options": ["", {"filter": ["", None], "mode": ["fast"]}]}}]}


def test_an_optional_argument_whose_first_value_is_null_is_left_out():
    gold = case(QUESTION, ANSWER)
    args = gold.gold_plan.step("call_0").args
    assert "depth" not in args
    assert args["options"] == {"mode": "fast"}  # the same, a level down


def test_a_required_argument_whose_first_value_is_null_keeps_it():
    assert case(QUESTION, ANSWER).gold_plan.step("call_0").args["branch"] is None


def test_the_gold_plan_is_valid_and_leaving_out_or_giving_null_both_score():
    question = {**QUESTION, "function": [{**QUESTION["function"][0], "parameters": {
        **QUESTION["function"][0]["parameters"],
        "properties": {"repo_url": {"type": "string"}, "depth": {"type": "integer"}}}}]}
    answer = {"id": "optional-null", "ground_truth": [
        {"clone_repo": {"repo_url": ["https://example.com/r.git"], "depth": ["", None]}}]}
    gold = case(question, answer)
    good, skipped = sample([gold], None)
    assert skipped == [] and good == [gold]
    for depth in ({}, {"depth": None}):
        predicted = Plan.model_validate({"goal": "g", "steps": [
            {"id": "a", "tool": "clone_repo",
             "args": {"repo_url": "https://example.com/r.git", **depth}}]})
        assert arg_counts(predicted, gold.gold_calls, gold.gold_plan) == Counts(tp=1 + len(depth))
