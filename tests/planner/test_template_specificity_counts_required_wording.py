"""When several templates match, the one whose pattern requires the most literal wording wins.

The wording was counted on the pattern's text with only ``{}``, ``[]``, ``()`` and spaces
taken out, so every other regex character of a ``re:`` pattern counted as a word's letter:
42 ``\\b`` (matching nothing) made ``re:(?P<anything>[^\\n]{1,400})\\b\\b…`` outrank every
shipped template, and an analyst's template took every user's goals. The wording is now
the literal characters every goal the pattern matches must contain.
"""

from __future__ import annotations

import re

import pytest

from planner.templates import SHIPPED_DIR, Template, TemplateLibrary, TemplateMatcher
from planner.templates.matching import required_wording, wording_problem

GRAB = r"re:(?P<anything>[^\n]{1,400})" + r"\b" * 42
GOALS = {"Copy sales.csv to backup/sales.csv": "copy-file",
         "Show the sum of the amount column of sales.csv": "csv-aggregate",
         "Total the amount column of sales.csv and write it to total.json": "csv-total-to-file"}


def _template(name: str, pattern: str, params: tuple[str, ...] = ("anything",)) -> Template:
    return Template.model_validate({
        "name": name, "description": "test", "patterns": [pattern],
        "params": [{"name": p} for p in params],
        "plan": {"steps": [{"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]}})


def _winner(templates: list[Template], goal: str) -> str | None:
    found, _ = TemplateMatcher(TemplateLibrary(templates)).match(goal)
    return found.template.name if found else None


@pytest.fixture(scope="module")
def shipped() -> list[Template]:
    return list(TemplateLibrary.load([SHIPPED_DIR]))


@pytest.mark.parametrize("pattern", [
    GRAB,
    r"re:^^\A(?P<anything>[^\n]{1,400})(?!x)(?<=\S)" + "$" * 40 + r"\Z",
    r"re:\S\S\S\S(?P<anything>[^\n]{1,400})" + r"\S" * 4,
    r"re:(?P<anything>[^\n]{1,400})(?:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz)?",
    r"re:(?P<anything>[^\n]{1,400})(?:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz|)",
    r"re:(?P<anything>[^\n]{1,400}?)(?:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz)*",
], ids=["word-boundaries", "anchors-lookarounds", "classes", "optional", "empty-branch",
        "star"])
@pytest.mark.parametrize("goal", GOALS)
def test_regex_characters_that_require_nothing_do_not_outrank_the_shipped_templates(
        shipped, pattern, goal):
    grab = _template("aaa-grab", pattern)
    assert _winner([grab, *shipped], goal) == GOALS[goal]
    assert _winner([grab], goal) == "aaa-grab"  # it does match: it only ranks lower


@pytest.mark.parametrize(("regex", "wording"), [
    (r"\b" * 42, 0), (r"^\B$(?=copy)(?!cp)", 0), (r"[a-z].\w\s+[^x]", 0),
    ("copy", 4), (r"copy\s+to", 6), ("(?:copy|duplicate)", 4), ("(?:what is|what's)", 6),
    ("(?:x{3,}|yy)", 2), ("a{5}", 5), ("a{2,}?", 2), ("a++", 1), ("(?>abc)", 3),
    ("(?:abc)?", 0), ("(?:abc)*", 0), ("(?:abc)+", 3), ("abc|", 0), ("(?P<x>abc)", 3),
    ("(?i:abc)", 3), ("(?:(?:ab){2}c){3}", 15),
])
def test_the_wording_a_regex_requires_is_its_literals_at_their_fewest(regex, wording):
    assert required_wording(re.compile(rf"^(?:{regex})$", re.IGNORECASE)) == wording


def test_a_regex_pattern_outranks_a_phrase_one_only_by_wording_it_requires():
    phrase = _template("phrase", "(copy|duplicate) {anything} to xx.csv")  # 4 + 2 + 6 = 12
    more = _template("more", r"re:(?:copy|duplicate)\s+(?P<anything>\S+) to x{2}\.csv")  # 13
    assert _winner([phrase, more], "copy a.csv to xx.csv") == "more"
    # Both require 12 characters: the phrase pattern wins, whatever the names say.
    same = _template("aaa", r"re:(?:copy|duplicate)\s+(?P<anything>\S+)\s+to\s+x{2}\.csv")
    assert _winner([same, phrase], "copy a.csv to xx.csv") == "phrase"
    assert _winner([phrase, same], "copy a.csv to xx.csv") == "phrase"


def test_choices_of_a_phrase_pattern_count_their_shortest_word():
    choice = _template("zzz-choice", "(copy|duplicate) to {anything}")  # "copy", "to": 6
    assert _winner([_template("aaa-plain", "to {anything}"), choice], "copy to b") == "zzz-choice"
    shorter = _template("aaa-shorter", "(cp|copy) to {anything}")  # "cp", "to": 4
    assert _winner([shorter, choice], "copy to b") == "zzz-choice"


def test_shipped_templates_still_match_the_goals_meant_for_them(shipped):
    for goal, name in GOALS.items():
        assert _winner(shipped, goal) == name


@pytest.mark.parametrize("pattern", [GRAB, r"re:(?P<anything>.*)", "{anything}",
                                     r"re:(?P<anything>\S+)\s+(?:\b|x?)", "[please] {anything}"])
def test_a_pattern_requiring_no_wording_is_named_as_matching_any_goal(pattern):
    problem = wording_problem(_template("aaa-grab", pattern))
    assert problem is not None
    assert "aaa-grab" in problem and repr(pattern) in problem
    assert "requires no literal wording" in problem


def test_a_pattern_requiring_some_wording_has_no_wording_problem(shipped):
    assert wording_problem(_template("mine", r"re:copy (?P<anything>\S+)")) is None
    assert wording_problem(_template("mine", "(copy|cp) {anything}")) is None
    assert all(wording_problem(t) is None for t in shipped)
