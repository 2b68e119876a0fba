"""Text that Python would read as a non-finite number ("nan", "inf") is compared as text."""

from __future__ import annotations

import pytest

from evals.datasets.base import GoldArg, GoldCall
from evals.metrics import Counts, arg_counts, normalise
from planner.plan import Plan


@pytest.mark.parametrize("text", ["Nan", "nan", "NaN", "inf", "-Infinity"])
def test_a_non_finite_number_word_is_kept_as_text(text):
    assert normalise(text, {}) == text.casefold()
    assert normalise(text, {}) == normalise(text, {})


def test_finite_numeric_text_is_still_a_number():
    assert normalise(" 40.70 ", {}) == 40.7 == normalise(40.7, {})


def test_an_identical_plan_with_the_name_nan_scores_perfectly():
    args = {"name": "Nan", "qty": 2}
    gold_plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "call_0", "tool": "lookup", "args": args}]})
    gold = (GoldCall(tool="lookup", args=(GoldArg("name", ("Nan",)), GoldArg("qty", (2,)))),)
    predicted = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "lookup", "args": args}]})
    assert arg_counts(predicted, gold, gold_plan) == Counts(tp=2)
