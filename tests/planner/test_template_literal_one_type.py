"""``--param NAME=literal`` takes values of one JSON type only, never changing a value's type.

The literal ``5`` matched ``text: "5"`` and ``json: {"count": 5}`` alike, and the parameter
took the type of whichever came first: text first, and later instances posted
``{"count": "7"}``; number first, and the template refused its own plan. The plan hash
tells ``"5"`` from ``5``, so a template may not blur them either.
"""

from __future__ import annotations

import pytest

from planner.plan import Plan
from planner.templates import TemplateError, instantiate, template_from_plan

NOTE = {"id": "note", "tool": "files.write", "args": {"path": "count.txt", "text": "5"}}
POST = {"id": "post", "tool": "http.request",
        "args": {"method": "POST", "url": "https://api.example/x", "json": {"count": 5}}}


@pytest.mark.parametrize("steps", [[NOTE, POST], [POST, NOTE]], ids=["text-first", "int-first"])
def test_a_literal_found_as_text_and_as_a_number_is_refused_naming_both_places(steps):
    plan = Plan.model_validate({"goal": "record 5 items", "steps": steps})
    with pytest.raises(TemplateError) as caught:
        template_from_plan(plan, name="rec", params={"n": "5"})
    message = caught.value.message
    assert "parameter n" in message
    note, post = (0, 1) if steps[0] is NOTE else (1, 0)
    assert f"$.steps[{note}].args.text (string)" in message
    assert f"$.steps[{post}].args.json.count (number)" in message


def test_a_literal_of_one_type_keeps_that_type_in_every_instance():
    plan = Plan.model_validate({"goal": "record 5 items", "steps": [
        {"id": "post", "tool": "http.request",
         "args": {"method": "POST", "url": "https://api.example/x",
                  "json": {"count": 5, "also": [5, "five"]}}}]})
    template = template_from_plan(plan, name="rec", params={"n": "5"})
    assert template.params[0].type.value == "int"
    made = instantiate(template, {"n": "7"}, goal="record 7 items")
    assert made.steps[0].args["json"] == {"count": 7, "also": [7, "five"]}
    same = instantiate(template, {"n": "5"}, goal="record 5 items")
    assert same.plan_hash() == plan.plan_hash()


def test_a_path_parameter_picks_one_of_the_places_a_literal_could_not():
    plan = Plan.model_validate({"goal": "record 5 items", "steps": [NOTE, POST]})
    template = template_from_plan(plan, name="rec",
                                  params={"n": "$.steps.post.args.json.count"})
    assert template.plan["steps"][0]["args"]["text"] == "5"
    assert template.params[0].type.value == "int"


def test_a_yes_no_literal_found_as_text_and_as_a_boolean_is_refused():
    plan = Plan.model_validate({"goal": "write notes", "steps": [
        {"id": "w", "tool": "files.write",
         "args": {"path": "a.txt", "text": "true", "overwrite": True}}]})
    with pytest.raises(TemplateError, match=r"overwrite \(yes/no value\)"):
        template_from_plan(plan, name="w", params={"flag": "true"})
