"""A saved goal's words are always read as words, even when the goal starts with ``re:``.

The goal text went into a phrase pattern as it was, and a phrase starting with ``re:`` is
read as a raw regex: ``re: copy sales.csv to backup.csv`` could not be saved, and a goal
``re:.*`` made a template matching every goal.
"""

from __future__ import annotations

from planner.plan import Plan
from planner.templates import TemplateLibrary, TemplateMatcher, template_from_plan


def _copy_plan(goal: str, source: str = "sales.csv") -> Plan:
    return Plan.model_validate({"goal": goal, "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": source}},
        {"id": "save", "tool": "files.write",
         "args": {"path": "backup.csv", "text": {"ref": "load.text"}}}]})


def _matcher(template) -> TemplateMatcher:
    return TemplateMatcher(TemplateLibrary([template]))


def test_a_goal_starting_with_re_colon_is_saved_and_matches_its_own_kind_of_goal():
    template = template_from_plan(_copy_plan("re: copy sales.csv to backup.csv"), name="cp",
                                  params={"source": "sales.csv", "target": "backup.csv"})
    found, _ = _matcher(template).match("re: copy q1.csv to out.csv")
    assert found is not None and found.params == {"source": "q1.csv", "target": "out.csv"}
    assert _matcher(template).match("copy q1.csv to out.csv")[0] is None


def test_a_goal_that_reads_as_a_regex_matches_only_itself():
    template = template_from_plan(_copy_plan("re:.*", source="a.csv"), name="any",
                                  params={"source": "$.steps.load.args.path"})
    assert _matcher(template).match("re:.*")[0] is not None
    assert _matcher(template).match("delete every file")[0] is None
