"""A step's ``why`` names parameters in one pass over the text the plan gave.

Replaced one value after another, a short value was found again inside a placeholder an
earlier one had put in: ``--param source=sales.csv --param our=our`` saved ``read
sales.csv`` as ``read {{s{{our}}ce}}``, and instances explained themselves with
``read {{sbackup.csvce}}``.
"""

from __future__ import annotations

from planner.plan import Plan
from planner.templates import instantiate, template_from_plan

PLAN = Plan.model_validate({"goal": "copy sales.csv to our", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"},
     "why": "read sales.csv"},
    {"id": "save", "tool": "files.write",
     "args": {"path": "our", "text": {"ref": "load.text"}}, "why": "write it to our"},
]})


def test_a_value_inside_another_parameters_placeholder_is_left_alone():
    template = template_from_plan(PLAN, name="cp", params={"source": "sales.csv", "our": "our"})
    assert [s["why"] for s in template.plan["steps"]] == ["read {{source}}", "write it to {{our}}"]
    made = instantiate(template, {"source": "q1.csv", "our": "backup.csv"},
                       goal="copy q1.csv to backup.csv")
    assert [s.why for s in made.steps] == ["read q1.csv", "write it to backup.csv"]


def test_the_longest_value_wins_where_values_overlap():
    plan = Plan.model_validate({"goal": "copy sales.csv to sales", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"},
         "why": "read sales.csv for sales"},
        {"id": "save", "tool": "files.write",
         "args": {"path": "sales", "text": {"ref": "load.text"}}}]})
    template = template_from_plan(plan, name="cp",
                                  params={"short": "sales", "long": "sales.csv"})
    assert template.plan["steps"][0]["why"] == "read {{long}} for {{short}}"
