"""A reply without structured output: the plan is found among prose, notes and thinking."""

from __future__ import annotations

import json
import time

import pytest

from planner.llm.prompt import candidate_document, extract_json

PLAN = json.dumps({"steps": [{"id": "load", "tool": "files.read",
                              "args_json": json.dumps({"path": "a.csv"})}]})
STEPS = [{"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]


@pytest.mark.parametrize("reply", [
    PLAN + '\n\nNote: I used {"path"} as the only argument.',
    "Sure! Here is the plan:\n" + PLAN + "\nLet me know if you need {anything} else.",
    "<think>The user wants {path: a.csv}.</think>\n" + PLAN,
    '<think>A draft: {"steps": []}</think>\nThe plan:\n' + PLAN,
    'I considered {"tool": "files.read"} first.\n' + PLAN + "\n{done}",
    "```json\n" + PLAN + "\n```\nAnd {this} too.",
])
def test_the_plan_is_found_whatever_braces_surround_it(reply):
    document, problems = candidate_document("Read a.csv", reply)
    assert problems == []
    assert document == {"goal": "Read a.csv", "steps": STEPS}


def test_a_reply_with_objects_but_no_plan_reports_the_shape_of_the_first():
    assert extract_json('Here: {"answer": 1} and {"other": 2}') == {"answer": 1}
    _, problems = candidate_document("g", 'Here: {"answer": 1}')
    assert 'must be an object with a "steps" list' in problems[0].message


def test_a_reply_of_many_unclosed_braces_is_refused_quickly():
    started = time.perf_counter()
    with pytest.raises(ValueError, match="no JSON object|nested too deeply"):
        extract_json('{"a": ' * 20_000)
    assert time.perf_counter() - started < 5
