"""A step's ``timeout_s`` is a finite number of seconds above 0 and at most 24 h.

An unbounded one (1e308; infinity or NaN in a plan object built in Python: a
plan file refuses them already) arms no deadline the executor can honour: a
hung call would hold its step for ever.
"""

from __future__ import annotations

import math

import pytest

from planner import Plan, ProblemCode, validate_plan
from tests.support.plan_tools import make_registry
from tools.registry import MAX_TIMEOUT_S

REGISTRY = make_registry()


def plan_with_timeout(value: object) -> dict[str, object]:
    return {"goal": "g", "steps": [{"id": "a", "tool": "files.read", "args": {"path": "a.csv"},
                                    "timeout_s": value}]}


@pytest.mark.parametrize("value", [1e308, 86_400.5, math.inf, math.nan])
def test_a_step_timeout_above_a_day_or_not_finite_is_a_problem_naming_the_field(value):
    report = validate_plan(plan_with_timeout(value), REGISTRY)
    assert report.plan is None
    problems = [p for p in report.problems if p.path == "$.steps[0].timeout_s"]
    assert problems and all(p.code is ProblemCode.WRONG_SHAPE for p in problems), report.problems


@pytest.mark.parametrize("value", [0.001, 30, MAX_TIMEOUT_S])
def test_a_step_timeout_up_to_a_day_is_accepted(value):
    report = validate_plan(plan_with_timeout(value), REGISTRY)
    assert not report.problems and report.plan.steps[0].timeout_s == value


def test_the_bound_is_a_day_and_shows_in_the_plan_schema():
    assert MAX_TIMEOUT_S == 86_400
    schema = Plan.model_json_schema()["$defs"]["Step"]["properties"]["timeout_s"]
    assert {"exclusiveMinimum": 0, "maximum": 86_400} in [
        {k: v for k, v in option.items() if k in ("exclusiveMinimum", "maximum")}
        for option in schema["anyOf"]]
