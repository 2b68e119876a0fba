"""The problems of a plan are bounded: the first 20 of each step, 200 in all, then one more
entry saying how many were left out. The cut never turns an invalid plan valid.

A reply of one step with 100,000 unknown arguments made 100,000 problems (each with a
fuzzy-match suggestion) per attempt, kept in each exchange record and in the stored
version: three such replies took 32 s, 600 MB and 77 MB of store.
"""

from __future__ import annotations

import json

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from planner.problems import ProblemCode
from planner.validation import MAX_PROBLEMS, MAX_PROBLEMS_PER_STEP, validate_plan
from tests.support.openai_server import Completion


def _unknown_args(count: int, **extra) -> dict:
    return {**{f"pth{i}": 0 for i in range(count)}, **extra}


def _left_out(problems) -> int:
    last = problems[-1].message
    assert last.startswith("... and ") and "more problem(s), not listed" in last, last
    return int(last.split()[2].replace(",", ""))


def test_the_limits_are_twenty_per_step_and_two_hundred_in_all():
    assert (MAX_PROBLEMS_PER_STEP, MAX_PROBLEMS) == (20, 200)


def test_a_step_of_thousands_of_unknown_arguments_gives_its_first_twenty_problems_and_a_count(
        registry):
    doc = {"goal": "g", "steps": [{"id": "load", "tool": "files.read",
                                   "args": _unknown_args(10_000, path="a.csv")}]}
    report = validate_plan(doc, registry)
    assert not report.ok and report.plan is None
    listed = report.problems[:-1]
    assert len(listed) == 20 and all(p.code is ProblemCode.UNKNOWN_ARG for p in listed)
    assert [p.path for p in listed[:2]] == ["$.steps[0].args.pth0", "$.steps[0].args.pth1"]
    assert _left_out(report.problems) == 9_980
    assert report.problems[-1].code is ProblemCode.UNKNOWN_ARG  # what the first left out was


def test_a_plan_of_many_bad_steps_gives_two_hundred_problems_and_a_count(registry):
    steps = [{"id": f"s{i}", "tool": "files.read", "args": _unknown_args(30, path="a.csv")}
             for i in range(50)]
    report = validate_plan({"goal": "g", "steps": steps}, registry)
    assert report.plan is None
    assert len(report.problems) == 201
    assert {p.step for p in report.problems[:200]} == {f"s{i}" for i in range(10)}
    assert _left_out(report.problems) == 50 * 30 - 200


def test_a_plan_just_within_the_limits_lists_every_problem(registry):
    steps = [{"id": f"s{i}", "tool": "files.read", "args": _unknown_args(20, path="a.csv")}
             for i in range(10)]
    report = validate_plan({"goal": "g", "steps": steps}, registry)
    assert len(report.problems) == 200 and "not listed" not in report.problems[-1].message


def test_problems_left_out_of_the_count_still_make_the_plan_invalid(registry):
    # The only fault that makes step 1 invalid comes after its own twenty and the plan's 200.
    steps = [{"id": f"s{i}", "tool": "files.read", "args": _unknown_args(20, path="a.csv")}
             for i in range(10)]
    steps.append({"id": "last", "tool": "files.read", "args": {}})  # path missing
    report = validate_plan({"goal": "g", "steps": steps}, registry)
    assert report.plan is None and not report.ok and _left_out(report.problems) == 1


def test_a_very_long_unknown_argument_gets_no_suggestion(registry):
    name = "path" + "x" * 5_000
    report = validate_plan({"goal": "g", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "a.csv", name: 1, "pth": 1}}]},
        registry)
    by_path = {p.path.rsplit(".", 1)[-1]: p.message for p in report.problems}
    assert "did you mean" in by_path["pth"] and "did you mean" not in by_path[name]


def test_llm_replies_of_huge_problem_lists_keep_bounded_records(openai_server, registry):
    step = {"id": "load", "tool": "files.read", "depends_on": [], "why": "r",
            "args_json": json.dumps(_unknown_args(20_000, path="sales.csv"))}
    openai_server.script(*[Completion(content=json.dumps({"steps": [step]}))] * 3)
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   timeout_s=10.0))
    with pytest.raises(PlanningError) as caught:
        planner.plan("Read sales.csv", registry)
    error = caught.value
    assert len(error.problems) == 21 and _left_out(error.problems) == 19_980
    assert [len(e.problems) for e in error.trace.exchanges] == [21, 21, 21]
    repair = openai_server.requests[1]["messages"][-1]["content"]
    assert len(repair) < 200_000
