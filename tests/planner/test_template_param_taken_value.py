"""``templates add --from-plan``: one plan value becomes at most one parameter.

Two ``--param`` options naming the same value used to save a template whose second
parameter had the first one's placeholder (``{{x}}``) as its default and in its plan.
"""

from __future__ import annotations

import pytest

from planner.plan import Plan
from planner.templates import TemplateError, template_from_plan

GOAL = "Summarise the amount column of sales.csv by region into summary.json"
PLAN = Plan.model_validate({"goal": GOAL, "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}, "why": "read it"},
    {"id": "save", "tool": "files.write",
     "args": {"path": "summary.json", "text": "{}", "overwrite": True}}]})


@pytest.mark.parametrize(("first", "second"), [
    ("$.steps[0].args.path", "$.steps[0].args.path"),  # the reviewer's
    ("$.steps[0].args.path", "$.steps.load.args.path"),  # the same value, spelled otherwise
    ("sales.csv", "$.steps[0].args.path"),  # taken by a literal first
])
def test_a_path_already_made_a_parameter_is_refused_naming_it(first, second):
    with pytest.raises(TemplateError) as caught:
        template_from_plan(PLAN, name="t9", params={"x": first, "y": second})
    assert caught.value.message == (
        f"parameter y: {second} is already parameter x; give each value one parameter")


def test_a_literal_naming_a_placeholder_left_by_another_parameter_is_not_in_the_plan():
    with pytest.raises(TemplateError) as caught:
        template_from_plan(PLAN, name="t9", params={"x": "sales.csv", "y": "{{x}}"})
    assert caught.value.message == "parameter y: no argument of the plan has the value '{{x}}'"


def test_a_literal_still_takes_every_value_no_other_parameter_took():
    plan = Plan.model_validate({"goal": "Copy a.csv to b.csv", "steps": [
        {"id": "copy", "tool": "files.copy", "args": {"src": "a.csv", "dst": "b.csv"}},
        {"id": "again", "tool": "files.copy", "args": {"src": "a.csv", "dst": "c.csv"}}]})
    template = template_from_plan(plan, name="cp", params={
        "first": "$.steps[0].args.src", "rest": "a.csv"})
    assert [s["args"]["src"] for s in template.plan["steps"]] == ["{{first}}", "{{rest}}"]
    assert template.param("rest").default == "a.csv"


def test_a_plan_value_holding_braces_made_a_parameter_keeps_them_as_its_default():
    # The documented way to keep a Mustache body: its own parameter, its text the default.
    plan = Plan.model_validate({"goal": "Write the greeting to hello.txt", "steps": [
        {"id": "save", "tool": "files.write",
         "args": {"path": "hello.txt", "text": "Dear {{name}}"}}]})
    template = template_from_plan(plan, name="greet", params={"body": "Dear {{name}}"})
    assert template.param("body").default == "Dear {{name}}"
