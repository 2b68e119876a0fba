"""Bounds that bound nothing do not make a pre-approved template's instances standard changes.

A reviewer made any plan a standard change with no approval: a min and max of NaN
(every comparison with NaN is false, so every value passed), a catch-all pattern
(``.*``) and ``{{goal}}``, the requester's free text, in a pre-approved plan.
"""

from __future__ import annotations

import math

import pytest
import yaml

from planner.plan import Plan
from planner.templates import (
    ParamBounds,
    Template,
    TemplateError,
    load_template_file,
    template_from_plan,
    unbounded_params,
)


def _document(params: list[dict], *, pre_approved: bool = True, text: str = "x") -> dict:
    return {
        "name": "t-bypass", "pre_approved": pre_approved, "example_goals": ["keep 5 rows"],
        "patterns": ["keep {n} rows"], "params": params,
        "plan": {"goal": "Keep {{n}} rows", "steps": [
            {"id": "save", "tool": "files.write",
             "args": {"path": "out-{{n}}.txt", "text": text, "overwrite": True}}]},
    }


@pytest.mark.parametrize("pre_approved", [True, False])
@pytest.mark.parametrize(("limits", "said"), [
    ({"min": math.nan, "max": math.nan}, "min must be a finite number, not nan"),
    ({"min": -math.inf, "max": math.inf}, "min must be a finite number, not -inf"),
    ({"min": 0, "max": math.inf}, "max must be a finite number, not inf"),
    ({"min": math.nan, "max": 9}, "min must be a finite number, not nan"),
])
def test_a_non_finite_min_or_max_is_refused_naming_the_parameter(limits, said, pre_approved):
    params = [{"name": "n", "type": "int", **limits}]
    with pytest.raises(ValueError) as caught:
        Template.model_validate(_document(params, pre_approved=pre_approved))
    message = str(caught.value)
    assert f"parameter n: {said}" in message


@pytest.mark.parametrize("pre_approved", [True, False])
def test_a_min_above_the_max_is_refused_naming_the_parameter(pre_approved):
    params = [{"name": "n", "type": "int", "min": 9, "max": 1}]
    with pytest.raises(ValueError, match=r"parameter n: min 9 is above max 1"):
        Template.model_validate(_document(params, pre_approved=pre_approved))


def test_the_reviewers_nan_and_inf_template_files_are_refused(tmp_path):
    for low, high in ((".nan", ".nan"), ("-.inf", ".inf")):
        folder = tmp_path / high.strip(".")
        folder.mkdir()
        path = folder / "top-rows.v1.yaml"
        path.write_text(
            "name: top-rows\npre_approved: true\nexample_goals: ['Keep 5 rows']\n"
            "patterns: ['Keep {n} rows']\n"
            f"params: [{{name: n, type: int, min: {low}, max: {high}}}]\n"
            "plan: {steps: [{id: save, tool: files.write, args: {path: 'o-{{n}}.txt', "
            "text: x}}]}\n")
        # Refused as a plan file refuses them, by the reader (planner.loading), with the line.
        with pytest.raises(TemplateError, match=r"\.(nan|inf) \(line 5, column \d+\) is not a "
                           "JSON number: NaN and Infinity cannot be hashed or stored"):
            load_template_file(path)


def test_finite_bounds_given_when_saving_a_plan_are_checked_too():
    with pytest.raises(ValueError, match="min must be a finite number"):
        ParamBounds(min=math.nan, max=1)
    with pytest.raises(ValueError, match="max must be a finite number"):
        ParamBounds(min=0, max=math.inf)


GOAL_TEXT = [{"name": "n", "type": "int", "min": 1, "max": 9}]


def test_goal_text_in_the_steps_of_a_pre_approved_template_is_refused_naming_where():
    with pytest.raises(ValueError) as caught:
        Template.model_validate(_document(GOAL_TEXT, text="note: {{goal}}"))
    message = str(caught.value)
    assert "{{goal}}" in message and "plan.steps[0] (save).args.text" in message
    assert "pre-approved" in message


def test_goal_text_is_refused_in_a_rationale_and_in_a_list_too():
    document = _document(GOAL_TEXT)
    document["plan"]["steps"][0]["why"] = "asked: {{ goal }}"
    document["plan"]["steps"][0]["args"]["text"] = ["a", "{{goal}}"]
    with pytest.raises(ValueError) as caught:
        Template.model_validate(document)
    assert "plan.steps[0] (save).why" in str(caught.value)
    assert "plan.steps[0] (save).args.text[1]" in str(caught.value)


def test_goal_text_is_fine_in_the_plans_own_goal_and_when_not_pre_approved():
    document = _document(GOAL_TEXT)
    document["plan"]["goal"] = "{{goal}}"  # the plan's goal is the requester's goal anyway
    assert Template.model_validate(document).pre_approved
    loose = Template.model_validate(_document(GOAL_TEXT, pre_approved=False, text="{{goal}}"))
    assert not loose.pre_approved


def test_the_reviewers_goal_template_file_is_refused(tmp_path):
    path = tmp_path / "note-goal.yaml"
    path.write_text(yaml.safe_dump({
        "name": "note-goal", "pre_approved": True, "example_goals": ["Note to notes.txt hello"],
        "patterns": [r"re:note to (?P<target>notes\.txt) .*"],
        "params": [{"name": "target", "enum": ["notes.txt"]}],
        "plan": {"goal": "Note", "steps": [{"id": "save", "tool": "files.write", "args": {
            "path": "{{target}}", "text": "{{goal}}", "overwrite": True}}]}}))
    with pytest.raises(TemplateError, match=r"plan\.steps\[0\] \(save\)\.args\.text"):
        load_template_file(path)


CATCH_ALL = [".*", "(?s).*", ".+", r"[\s\S]*", "^.*$", ".{0,100000}", "[^\\n]*", "(.*)", r"\S*.*"]


@pytest.mark.parametrize("pattern", CATCH_ALL)
def test_a_pattern_that_matches_anything_does_not_bound_a_parameter(pattern):
    params = [{"name": "n", "type": "str", "pattern": pattern}]
    with pytest.raises(ValueError) as caught:
        Template.model_validate(_document(params))
    message = str(caught.value)
    assert f"n (str: pattern {pattern!r} matches anything)" in message
    assert "a pattern that matches every one of" in message  # the rule, stated


def test_a_catch_all_pattern_on_a_number_still_leaves_it_needing_min_and_max():
    params = [{"name": "n", "type": "int", "pattern": ".*"}]
    with pytest.raises(ValueError, match=r"n \(int: pattern '\.\*' matches anything; no min "
                                         r"and max\)"):
        Template.model_validate(_document(params))
    bounded = [{"name": "n", "type": "int", "pattern": ".*", "min": 1, "max": 9}]
    assert Template.model_validate(_document(bounded)).pre_approved


@pytest.mark.parametrize("pattern", [r"^[\w.-]+\.csv$", r"\d{1,3}", "(sum|mean)", r"[a-z]+",
                                     r"[^/]+", r"[\w ]{0,200}"])
def test_a_pattern_that_refuses_some_probe_is_a_bound(pattern):
    params = [{"name": "n", "type": "str", "pattern": pattern}]
    template = Template.model_validate(_document(params, pre_approved=False))
    assert unbounded_params(template.params) == []


PLAN = Plan.model_validate({"goal": "Copy sales.csv to out.csv", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "out.csv", "text": {"ref": "load.text"}}}]})


def test_a_catch_all_pattern_given_when_saving_a_plan_is_refused():
    with pytest.raises(TemplateError) as caught:
        template_from_plan(PLAN, name="cp", params={"src": "sales.csv"}, pre_approved=True,
                           bounds={"src": ParamBounds(pattern="(?s).*")})
    assert caught.value.code == "unbounded_parameter"
    assert "src (str: pattern '(?s).*' matches anything)" in caught.value.message


def test_an_enum_that_leaves_out_the_plans_own_value_says_so():
    with pytest.raises(TemplateError) as caught:
        template_from_plan(PLAN, name="cp", params={"src": "sales.csv"},
                           bounds={"src": ParamBounds(enum=("a.csv", "b.csv"))})
    message = caught.value.message
    assert "the enum of src (a.csv, b.csv) leaves out the plan's value 'sales.csv'" in message
    assert "the pattern does not match" not in message
