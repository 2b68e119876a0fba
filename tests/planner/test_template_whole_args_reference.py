"""``--param NAME=literal`` never makes a reference the parameter, even a step's whole ``args``.

a91d88c walked each step's ``args`` from the top, so one that IS a reference
(``{"ref": "load.text"}``) had its reference text replaced: a template user could then choose
which step's output the step reads. A reference nested in the arguments was already skipped.
"""

from __future__ import annotations

import pytest

from planner.plan import Plan
from planner.templates import TemplateError, template_from_plan


PLAN = Plan.model_validate({"goal": "echo the rows of sales.csv", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "echo", "tool": "x.echo", "args": {"ref": "load.text"}},
]})


def test_a_whole_args_reference_is_not_an_argument_value():
    with pytest.raises(TemplateError, match="no argument of the plan has the value 'load.text'"):
        template_from_plan(PLAN, name="t", params={"src": "load.text"})


def test_a_literal_parameter_leaves_a_whole_args_reference_alone():
    template = template_from_plan(PLAN, name="t", params={"src": "sales.csv"})
    steps = template.plan["steps"]
    assert steps[0]["args"] == {"path": "{{src}}"}
    assert steps[1]["args"] == {"ref": "load.text"}
