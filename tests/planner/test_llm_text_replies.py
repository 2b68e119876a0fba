"""A reply without structured output: the plan is found among prose, notes and thinking."""

from __future__ import annotations

import json

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
    document, problems, _ = candidate_document("Read a.csv", reply, max_steps=200)
    assert problems == []
    assert document == {"goal": "Read a.csv", "steps": STEPS}


def test_a_reply_with_objects_but_no_plan_reports_the_shape_of_the_first():
    assert extract_json('Here: {"answer": 1} and {"other": 2}') == {"answer": 1}
    _, problems, _ = candidate_document("g", 'Here: {"answer": 1}', max_steps=200)
    assert 'must be an object with a "steps" list' in problems[0].message


def test_a_reply_of_many_unclosed_braces_is_refused():
    # Each "{" is a decode to the end of the reply: only the first 200 are tried (a reply
    # of 20,000 made 20,000 scans; the suite's timeout is the guard, not a clock here).
    with pytest.raises(ValueError, match="no JSON object|nested too deeply"):
        extract_json('{"a": ' * 20_000)


def test_a_whole_json_reply_is_taken_as_sent_even_when_an_argument_mentions_thinking():
    # Thinking blocks were cut out of the whole reply first, arguments included: the plan
    # an approver saw was not the one the model proposed.
    text = "<p>Use <think>tags</think> for reasoning</p>"
    reply = json.dumps({"steps": [{"id": "save", "tool": "files.write", "args_json": json.dumps(
        {"path": "a.html", "text": text})}]})
    assert json.loads(extract_json(reply)["steps"][0]["args_json"])["text"] == text
    prose = "Here it is: " + reply  # the same plan found in prose keeps it too
    assert json.loads(extract_json(prose)["steps"][0]["args_json"])["text"] == text


def test_an_object_whose_steps_are_not_a_list_is_not_taken_for_the_plan():
    reply = 'The paginate tool takes an object like {"steps": 3, "size": 50}. Plan:\n' + PLAN
    document, problems, _ = candidate_document("Read a.csv", reply, max_steps=200)
    assert problems == [] and document["steps"] == STEPS


@pytest.mark.parametrize("opening", ["<think>", "<think>" * 50_000])
def test_thinking_left_open_hides_nothing(opening):
    # 50,000 unclosed tags: the regex that cut blocks out scanned to the end from each one
    # (52 s at 40,000); spans are now found in one pass.
    document, problems, _ = candidate_document("Read a.csv", opening + " so: " + PLAN, max_steps=200)
    assert problems == [] and document["steps"] == STEPS
