"""Pre-approved templates bound every parameter.

A pre-approved template's instances are standard changes when their values are
inside its bounds, so a parameter with no pattern, enum or min/max would let any
value through: such a template is refused wherever it comes from (a file, the
library directory, a plan saved as a template).
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from planner.plan import Plan
from planner.templates import (
    SHIPPED_DIR,
    ParamBounds,
    Template,
    TemplateError,
    TemplateLibrary,
    bounds_check,
    load_template_file,
    read_new_template,
    template_from_plan,
    unbounded_params,
)

TOTAL_GOAL = "Total the amount column of sales.csv and write it to ttl.json"
TOTAL_PLAN = Plan.model_validate({"goal": TOTAL_GOAL, "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "total", "tool": "table.aggregate",
     "args": {"csv": {"ref": "load.text"}, "column": "amount", "op": "sum"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "ttl.json", "text": "x", "overwrite": True, "mode": 420}},
]})


def _document(params: list[dict], *, pre_approved: bool = True) -> dict:
    return {
        "name": "t-bounds", "pre_approved": pre_approved, "example_goals": ["read notes.txt"],
        "patterns": ["read {path}"], "params": params,
        "plan": {"steps": [{"id": "load", "tool": "files.read", "args": {"path": "{{path}}"},
                            "why": "{{n}} {{flag}}"}]},
    }


UNBOUNDED = [{"name": "path"}, {"name": "n", "type": "int", "default": 1},
             {"name": "flag", "type": "bool", "default": False}]


def test_a_pre_approved_template_with_an_unbounded_parameter_is_refused_naming_it():
    with pytest.raises(ValidationError) as caught:
        Template.model_validate(_document(UNBOUNDED))
    [error] = caught.value.errors()
    message = error["msg"]
    assert "a pre-approved template must bound every parameter" in message
    assert "path (str: no pattern or enum)" in message
    assert "n (int: no pattern, enum, or min and max)" in message
    assert "flag" not in message  # a yes/no value is bounded by its type


def test_the_same_parameters_are_fine_when_the_template_is_not_pre_approved():
    template = Template.model_validate(_document(UNBOUNDED, pre_approved=False))
    assert [p.name for p in unbounded_params(template.params)] == ["path", "n"]


@pytest.mark.parametrize(("limits", "bounded"), [
    ({"pattern": "^[a-z.]+$"}, True),
    ({"enum": ["notes.txt"]}, True),
])
def test_a_text_parameter_is_bounded_by_a_pattern_or_an_enum(limits, bounded):
    params = [{"name": "path", **limits}, {"name": "n", "type": "int", "default": 1, "min": 0,
                                           "max": 9}, {"name": "flag", "type": "bool",
                                                       "default": False}]
    if bounded:
        assert Template.model_validate(_document(params)).pre_approved
    else:
        with pytest.raises(ValueError, match=r"path \(str: no pattern or enum\)"):
            Template.model_validate(_document(params))


@pytest.mark.parametrize(("limits", "said"), [
    ({"min": 0}, "n (int: no max)"),
    ({"max": 9}, "n (int: no min)"),
])
def test_a_number_needs_both_min_and_max(limits, said):
    params = [{"name": "path", "pattern": "^[a-z.]+$"},
              {"name": "n", "type": "int", "default": 1, **limits},
              {"name": "flag", "type": "bool", "default": False}]
    with pytest.raises(ValueError) as caught:
        Template.model_validate(_document(params))
    assert said in str(caught.value)


def test_a_pre_approved_template_file_with_an_unbounded_parameter_is_refused(tmp_path):
    import yaml

    path = tmp_path / "t-bounds.v1.yaml"
    path.write_text(yaml.safe_dump(_document(UNBOUNDED)))
    for read in (load_template_file, read_new_template):
        with pytest.raises(TemplateError, match="must bound every parameter") as caught:
            read(path)
        assert str(path) in caught.value.message and "path (str" in caught.value.message
    with pytest.raises(TemplateError, match="must bound every parameter"):
        TemplateLibrary.load([tmp_path])


def test_every_shipped_pre_approved_template_bounds_every_parameter():
    shipped = TemplateLibrary.load([SHIPPED_DIR])
    pre_approved = [t for t in shipped if t.pre_approved]
    assert pre_approved
    for template in pre_approved:
        assert unbounded_params(template.params) == [], template.name


def test_saving_a_plan_as_a_pre_approved_template_needs_bounds_for_every_parameter():
    with pytest.raises(TemplateError) as caught:
        template_from_plan(TOTAL_PLAN, name="fp3", params={"target": "ttl.json"},
                           pre_approved=True)
    assert caught.value.code == "unbounded_parameter"
    assert "target (str: no pattern or enum)" in caught.value.message


def test_bounds_given_when_saving_a_plan_bound_its_parameters():
    template = template_from_plan(
        TOTAL_PLAN, name="fp3", pre_approved=True,
        params={"target": "ttl.json", "mode": "$.steps.save.args.mode"},
        bounds={"target": ParamBounds(pattern=r"^[a-z]+\.json$"),
                "mode": ParamBounds(enum=("420", "384"))})
    assert template.param("target").pattern == r"^[a-z]+\.json$"
    assert template.param("mode").enum == (420, 384)  # typed like the value they bound
    # The walkthrough's goal: overwrite the source data. Out of bounds: no standard change.
    assert bounds_check(template, {"target": "sales.csv", "mode": 420}) == [
        r"target: 'sales.csv' does not match ^[a-z]+\.json$"]
    numbers = template_from_plan(TOTAL_PLAN, name="fp4", pre_approved=True,
                                 params={"target": "ttl.json", "mode": "$.steps.save.args.mode"},
                                 bounds={"target": ParamBounds(enum=("ttl.json",)),
                                         "mode": ParamBounds(min=0, max=511)})
    assert (numbers.param("mode").min, numbers.param("mode").max) == (0, 511)


def test_bounds_that_exclude_the_plans_own_value_are_refused():
    with pytest.raises(TemplateError, match="would not match its own goal"):
        template_from_plan(TOTAL_PLAN, name="fp3", params={"target": "ttl.json"},
                           bounds={"target": ParamBounds(pattern=r"^[a-z]+\.csv$")})


@pytest.mark.parametrize(("bounds", "said"), [
    ({"other": ParamBounds(pattern="^x$")}, "other"),
    ({"mode": ParamBounds(enum=("four",))}, "'four' is not a whole number"),
])
def test_bounds_for_an_unknown_parameter_or_of_the_wrong_type_are_refused(bounds, said):
    with pytest.raises(TemplateError, match=said):
        template_from_plan(TOTAL_PLAN, name="fp3", bounds=bounds,
                           params={"target": "ttl.json", "mode": "$.steps.save.args.mode"})

