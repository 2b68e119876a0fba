"""``templates add --from-plan --param NAME=literal`` replaces arguments equal to it, nothing else.

Every step field but ``id`` and ``tool`` was rewritten: a step id named in ``depends_on``
(the reviewer's ``backup``), a ``why`` or a retry setting equal to the literal became the
placeholder, and the template's plan waited for a step that does not exist.
"""

from __future__ import annotations

from planner.plan import Plan
from planner.templates import template_from_plan

GOAL = "Copy report.csv to backup"
PLAN = Plan.model_validate({"goal": GOAL, "steps": [
    {"id": "read", "tool": "files.read", "args": {"path": "report.csv"}},
    {"id": "backup", "tool": "files.write",
     "args": {"path": "backup", "text": {"ref": "read.text"}, "overwrite": True}},
    {"id": "check", "tool": "files.list", "args": {"path": "."}, "depends_on": ["backup"]},
]})


def test_a_literal_parameter_leaves_depends_on_alone():
    template = template_from_plan(PLAN, name="copy-to", params={"target": "backup"})
    steps = template.plan["steps"]
    assert steps[1]["args"]["path"] == "{{target}}"
    assert steps[2]["depends_on"] == ["backup"]
    assert [s["id"] for s in steps] == ["read", "backup", "check"]


def test_a_literal_parameter_leaves_why_and_retry_alone():
    plan = Plan.model_validate({"goal": "Fetch page 5", "steps": [
        {"id": "get", "tool": "web.get", "args": {"page": 5, "tries": 5}, "why": "5",
         "retry": {"max_attempts": 5}},
    ]})
    template = template_from_plan(plan, name="page", params={"n": "5"})
    step = template.plan["steps"][0]
    assert step["args"] == {"page": "{{n}}", "tries": "{{n}}"}
    assert (step["why"], step["retry"]) == ("5", {"max_attempts": 5})


def test_a_reference_is_not_an_argument_value():
    template = template_from_plan(PLAN, name="copy-to", params={"source": "report.csv"})
    steps = template.plan["steps"]
    assert steps[0]["args"]["path"] == "{{source}}"
    assert steps[1]["args"]["text"] == {"ref": "read.text"}
