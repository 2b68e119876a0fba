"""``templates add --from-plan --param NAME=$.path``: a path that reads into a single value
(text, a number, null) is refused in one line, like any other path not in the plan."""

from __future__ import annotations

import pytest

from planner.plan import Plan
from planner.templates import TemplateError, template_from_plan

PLAN = Plan.model_validate({"goal": "Copy sales.csv to backup/sales.csv", "steps": [
    {"id": "copy", "tool": "files.copy",
     "args": {"src": "sales.csv", "dst": "backup/sales.csv", "limit": 3, "note": None}}]})


@pytest.mark.parametrize(("path", "kind"), [
    ("$.steps[0].args.src[0]", "string"),
    ("$.steps.copy.args.src.first", "string"),
    ("$.steps[0].args.limit[0]", "number"),
    ("$.steps[0].args.note.x", "null"),
    ("$.steps[0].id[1]", "string"),
])
def test_a_path_into_a_single_value_is_refused_naming_it(path, kind):
    with pytest.raises(TemplateError) as caught:
        template_from_plan(PLAN, name="copy_file", params={"p": path})
    assert str(caught.value) == (f"parameter p: {path} does not exist in the plan: it reads "
                                 f"into a {kind}, not a list or object")


def _plan_with(text: str, goal: str = "Write the greeting to hello.txt") -> Plan:
    return Plan.model_validate({"goal": goal, "steps": [
        {"id": "save", "tool": "files.write", "args": {"path": "hello.txt", "text": text},
         "why": "save it"}]})


@pytest.mark.parametrize("text", ["Dear customer, re: {{goal}}", "Dear {{ name }}"])
def test_a_literal_placeholder_in_a_value_left_as_is_is_refused_naming_its_path(text):
    # Saved, {{goal}} became the instance's goal, and {{name}} an undeclared parameter.
    with pytest.raises(TemplateError) as caught:
        template_from_plan(_plan_with(text), name="greet", params={"target": "hello.txt"})
    assert str(caught.value).startswith("$.steps[0].args.text holds '{{")
    assert "--param" in str(caught.value)


def test_a_literal_placeholder_in_the_goal_is_refused():
    with pytest.raises(TemplateError, match=r"^\$\.goal holds '\{\{goal\}\}'"):
        template_from_plan(_plan_with("hi", goal="Write {{goal}} to hello.txt"), name="greet",
                           params={"target": "hello.txt"})


def test_a_value_holding_braces_that_becomes_a_parameter_is_saved():
    template = template_from_plan(_plan_with("Dear {{name}}"), name="greet",
                                  params={"body": "$.steps[0].args.text"})
    assert template.plan["steps"][0]["args"]["text"] == "{{body}}"
    assert template.param("body").default == "Dear {{name}}"
