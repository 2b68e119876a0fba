"""Template parameters fill argument values only, whether named by a ``--param`` path or
written in a template file.

A ``--param t='$.steps[0].tool'`` was saved as ``tool: '{{t}}'``: whoever used the template
chose the tool a step calls (and with ``id`` or ``depends_on``, the shape of the graph). An
admin saving a lookup plan pre-approved with ``t`` bounded by ``^crm\\.[a-z]+$`` let an
analyst's ``call crm.erase for customer c7`` run a DELETE as a standard change, unapproved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.plan import Plan
from planner.templates import TemplateError, TemplateLibrary, template_from_plan

PLAN = Plan.model_validate({"goal": "Copy report.csv with files.read", "steps": [
    {"id": "read", "tool": "files.read", "args": {"path": "report.csv"}, "why": "read it",
     "retry": {"max_attempts": 2}, "timeout_s": 5},
    {"id": "save", "tool": "files.write", "depends_on": ["read"],
     "args": {"path": "out.csv", "text": {"ref": "read.text"}, "opts": {"tags": ["a", "b"]}}},
]})


@pytest.mark.parametrize("path", [
    "$.steps[0].tool", "$.steps.read.tool", "$.steps[0].id", "$.steps[1].depends_on[0]",
    "$.steps[0].retry.max_attempts", "$.steps[0].timeout_s", "$.steps[0].why",
])
def test_a_path_outside_args_is_refused_naming_parameter_and_path(path):
    with pytest.raises(TemplateError) as caught:
        template_from_plan(PLAN, name="copy", params={"t": path})
    assert str(caught.value).startswith(f"parameter t: {path} is not an argument value")
    assert "only argument values" in str(caught.value)


def test_a_path_at_any_depth_inside_args_is_a_parameter():
    template = template_from_plan(PLAN, name="copy", params={
        "src": "$.steps.read.args.path", "tag": "$.steps[1].args.opts.tags[1]"})
    steps = template.plan["steps"]
    assert steps[0]["args"]["path"] == "{{src}}"
    assert steps[1]["args"]["opts"]["tags"] == ["a", "{{tag}}"]
    assert (steps[0]["tool"], steps[1]["depends_on"]) == ("files.read", ["read"])


STEP = "{id: load, tool: files.read, args: {path: '{{path}}'}}"
MISPLACED = {
    "tool": ("{id: load, tool: '{{path}}', args: {}}", "plan.steps[0] (load).tool"),
    "id": ("{id: '{{path}}', tool: files.read, args: {}}", "plan.steps[0].id"),
    "depends_on": (STEP + ", {id: b, tool: files.list, depends_on: ['{{path}}']}",
                   "plan.steps[1] (b).depends_on[0]"),
    "retry": ("{id: load, tool: files.read, retry: {max_attempts: '{{path}}'}}",
              "plan.steps[0] (load).retry.max_attempts"),
    "timeout_s": ("{id: load, tool: files.read, timeout_s: '{{path}}'}",
                  "plan.steps[0] (load).timeout_s"),
    "whole args": ("{id: load, tool: files.read, args: '{{path}}'}", "plan.steps[0] (load).args"),
    "reference": (STEP + ", {id: b, tool: files.write, args: {text: {ref: '{{path}}.text'}}}",
                  "plan.steps[1] (b).args.text.ref"),
}


@pytest.mark.parametrize(("steps", "where"), MISPLACED.values(), ids=MISPLACED.keys())
def test_a_template_file_with_a_parameter_outside_argument_values_is_refused(
        tmp_path: Path, steps, where):
    path = tmp_path / "t.v1.yaml"
    path.write_text("patterns: ['read {path}']\nparams: [{name: path}]\n"
                    f"plan: {{steps: [{steps}]}}\n")
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary.load([tmp_path])
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid template: ")
    assert f"{where} holds '{{{{path}}}}'" in message and "argument values only" in message


def test_a_parameter_in_args_why_and_goal_of_a_template_file_is_kept(tmp_path: Path):
    (tmp_path / "t.v1.yaml").write_text(
        "patterns: ['read {path}']\nparams: [{name: path}]\n"
        "plan: {goal: 'read {{path}}', steps: [{id: load, tool: files.read, why: 'read {{path}}',"
        " args: {path: '{{path}}', more: [{deep: 'x{{path}}'}]}}]}\n")
    [template] = TemplateLibrary.load([tmp_path])
    assert template.plan["steps"][0]["args"]["more"] == [{"deep": "x{{path}}"}]
