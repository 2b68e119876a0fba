"""A step's ``timeout_s`` and ``retry`` are numbers as written: text and yes/no are refused.

Read loosely, ``timeout_s: "30"`` became 30.0, ``true`` a one-second limit and ``"1e2"``
100 seconds, and ``retry: {"max_attempts": "5", "jitter": true}`` five attempts with full
jitter: the approver saw one thing and the plan stored another. A whole number is still a
number of seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import Plan, ProblemCode, validate_plan
from planner.loading import read_plan_file
from tests.support.plan_tools import make_registry
from tools import RetryPolicy

REGISTRY = make_registry()
ROOT = Path(__file__).resolve().parents[2]


def _step(**settings: object) -> dict[str, object]:
    return {"goal": "g", "steps": [{"id": "a", "tool": "files.read", "args": {"path": "a.csv"},
                                    **settings}]}


@pytest.mark.parametrize(("settings", "where"), [
    ({"timeout_s": "30"}, "$.steps[0].timeout_s"),
    ({"timeout_s": True}, "$.steps[0].timeout_s"),
    ({"timeout_s": "1e2"}, "$.steps[0].timeout_s"),
    ({"retry": {"max_attempts": "5"}}, "$.steps[0].retry.max_attempts"),
    ({"retry": {"max_attempts": True}}, "$.steps[0].retry.max_attempts"),
    ({"retry": {"max_attempts": 5.0}}, "$.steps[0].retry.max_attempts"),
    ({"retry": {"jitter": True}}, "$.steps[0].retry.jitter"),
    ({"retry": {"initial_backoff_s": "0.5"}}, "$.steps[0].retry.initial_backoff_s"),
])
def test_text_and_yes_no_settings_are_refused_naming_the_field(settings, where):
    report = validate_plan(_step(**settings), REGISTRY)
    assert report.plan is None
    found = [p for p in report.problems if p.path == where]
    assert found and all(p.code is ProblemCode.WRONG_SHAPE for p in found), report.problems
    field = where.removeprefix("$.steps[0].")
    assert f"{field!r}" in found[0].message


def test_whole_numbers_are_numbers_of_seconds_and_of_fractions():
    report = validate_plan(_step(timeout_s=30, retry={
        "max_attempts": 5, "initial_backoff_s": 1, "max_backoff_s": 10, "jitter": 0,
        "multiplier": 2}), REGISTRY)
    assert not report.problems
    step = report.plan.steps[0]
    assert step.timeout_s == 30 and step.retry == RetryPolicy(
        max_attempts=5, initial_backoff_s=1.0, max_backoff_s=10.0, jitter=0.0, multiplier=2.0)


def test_a_stored_plan_reads_back_as_it_was_written():
    plan = Plan.model_validate(_step(timeout_s=2.5, retry={"max_attempts": 2, "jitter": 0.3}))
    again = Plan.model_validate_json(json.dumps(plan.to_wire()))
    assert again == plan and again.plan_hash() == plan.plan_hash()


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "valid").glob("*.*")),
                         ids=lambda p: p.name)
def test_the_valid_example_plans_still_load(path):
    document, problems = read_plan_file(path)
    assert not problems
    Plan.model_validate(document)
