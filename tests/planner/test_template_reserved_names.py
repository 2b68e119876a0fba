"""``goal`` is no parameter name: ``{{goal}}`` in a template is the requester's goal text.

A parameter called ``goal`` used to be captured and bounds-checked, then replaced by the
whole goal when the plan was made (instantiate puts the goal in as ``goal``), so its
pattern bounded nothing. It is refused in a template file and when saving a plan.
"""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from planner.plan import Plan
from planner.templates import (
    Template,
    TemplateError,
    TemplateLibrary,
    instantiate,
    load_template_file,
    template_from_plan,
)
from planner.templates.model import RESERVED_PARAM_NAMES

# The reviewer's template (/tmp/rev-planner/t1/goalp.v1.yaml).
GOAL_PARAM = {
    "name": "goalp", "description": "write a fixed word", "example_goals": ["note abc"],
    "patterns": ["note {goal}"], "params": [{"name": "goal", "pattern": "^[a-z]{1,5}$"}],
    "plan": {"steps": [{"id": "save", "tool": "files.write", "args": {
        "path": "note.txt", "text": "{{goal}}", "overwrite": True}}]},
}


def test_goal_is_the_name_instantiate_fills_in_itself():
    assert RESERVED_PARAM_NAMES == frozenset({"goal"})


def test_a_parameter_named_goal_is_refused_with_the_reason():
    with pytest.raises(ValidationError) as caught:
        Template.model_validate(GOAL_PARAM)
    message = str(caught.value)
    assert "parameter name 'goal' is reserved" in message
    assert "{{goal}} is the requester's goal" in message


def test_the_reviewers_template_file_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "goalp.v1.yaml"
    path.write_text(yaml.safe_dump(GOAL_PARAM))
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary.load([tmp_path])
    assert caught.value.message.startswith(f"{path}: invalid template: params.0.name: ")
    assert "reserved" in caught.value.message
    with pytest.raises(TemplateError, match="reserved"):
        load_template_file(path)


PLAN = Plan.model_validate({"goal": "Write hello to note.txt", "steps": [
    {"id": "save", "tool": "files.write",
     "args": {"path": "note.txt", "text": "hello", "overwrite": True}}]})


@pytest.mark.parametrize("spec", ["$.steps[0].args.text", "hello"])
def test_saving_a_plan_with_a_parameter_named_goal_is_refused_before_anything_else(spec):
    with pytest.raises(TemplateError) as caught:
        template_from_plan(PLAN, name="note", params={"goal": spec})
    assert caught.value.message == (
        "parameter name 'goal' is reserved: {{goal}} is the requester's goal text in a "
        "template's plan; choose another name")


def test_goal_text_still_fills_in_goal_placeholders():
    document = dict(GOAL_PARAM, params=[{"name": "word", "pattern": "^[a-z]{1,5}$"}],
                    patterns=["note {word}"])
    document["plan"] = {"steps": [{"id": "save", "tool": "files.write", "args": {
        "path": "note.txt", "text": "{{word}}: {{goal}}", "overwrite": True}}]}
    plan = instantiate(Template.model_validate(document), {"word": "abc"}, goal="note abc")
    assert plan.steps[0].args["text"] == "abc: note abc"


def test_a_goal_placeholder_in_the_skeleton_goal_needs_a_goal_to_stand_for():
    # Without a goal given, the skeleton's own goal is used: {{goal}} in it has nothing to
    # stand for, so the example goal is used instead of failing with a KeyError.
    document = dict(GOAL_PARAM, params=[{"name": "word", "pattern": "^[a-z]{1,5}$"}],
                    patterns=["note {word}"])
    document["plan"] = dict(document["plan"], goal="{{goal}} ({{word}})")
    plan = instantiate(Template.model_validate(document), {"word": "abc"})
    assert plan.goal == "note abc"
