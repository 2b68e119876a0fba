"""An empty or blank goal is called empty, not "not a string"; a goal of another kind is
named by its kind.

``{"goal": ""}`` and ``{"goal": "   "}`` gave "'goal' must be a non-empty string, not a string":
one message served a value that is not text and text with nothing in it.
"""

from __future__ import annotations

import pytest

from planner import ProblemCode, validate_plan

STEP = {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}


def _goal_problem(goal, registry) -> str:
    report = validate_plan({"goal": goal, "steps": [STEP]}, registry)
    [problem] = [p for p in report.problems if p.path == "$.goal"]
    assert problem.code is ProblemCode.WRONG_SHAPE and report.plan is None
    return problem.message


def test_an_empty_goal_is_called_empty(registry):
    assert _goal_problem("", registry) == (
        "'goal' is empty: say in plain words what the plan achieves")


@pytest.mark.parametrize("goal", ["   ", "\t\n", "\u3000"])
def test_a_goal_of_only_whitespace_is_called_blank(goal, registry):
    assert _goal_problem(goal, registry) == (
        "'goal' is blank (only whitespace): say in plain words what the plan achieves")


@pytest.mark.parametrize("goal, kind", [(5, "a number"), (None, "null"), (["x"], "a list"),
                                        ({"a": "b"}, "an object"), (True, "a boolean")])
def test_a_goal_that_is_not_text_is_named_by_its_kind(goal, kind, registry):
    assert _goal_problem(goal, registry) == f"'goal' must be a non-empty string, not {kind}"
