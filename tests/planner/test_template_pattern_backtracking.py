"""A template regex that backtracks without bound is refused, never run: no hang.

Python's ``re`` cannot be interrupted, so a pattern such as ``^(a|aa)*b$`` or
``^([A-Za-z0-9]+[._-]?)*\\.csv$`` would spin at full CPU on a long text: when its
template is read (every plan, ``templates list``), and on every goal matched against it.
Each pattern's matching time is bounded from its shape (planner.templates.backtracking):
one that may exceed the budget is refused naming the template and parameter, and a text
too long for a pattern's bound is refused before the pattern runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from planner.base import PlanningError
from planner.plan import Plan
from planner.templates import (
    SHIPPED_DIR,
    ParamBounds,
    Template,
    TemplateError,
    TemplateLibrary,
    TemplateMatcher,
    TemplatePlanner,
    bounds_check,
    read_new_template,
    template_from_plan,
)
from planner.templates.backtracking import (
    BUDGET,
    CHECKED_LENGTH,
    match_steps,
    pattern_problem,
    too_slow,
)
from planner.templates.model import CATCH_ALL_PROBES
from tools import ToolRegistry


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry()

# Each takes minutes or more in ``re`` on a text of a few dozen to a few thousand characters.
CATASTROPHIC = [
    r"^([A-Za-z0-9]+[._-]?)*\.csv$",  # the reviewer's
    r"^(a|aa)*b$",
    r"^(a+)+$",
    r"^(\w+\s?)*$",
    r"^(?:[a-z]*)*x$",
    r"^(a?){40}a{40}$",
    r"^([a-z]+\.?)+\.csv$",
    r"\w+\w+\w+\w+x",  # polynomial, n**4
]
# Each matches any text quickly; several look alike the ones above.
FAST = [
    r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}\.csv$",
    r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$",
    r"^[a-z0-9]+(\.[a-z0-9]+)*$",
    r"^[a-z]+_[a-z]+_[0-9]+\.csv$",
    r"^(sum|mean|min|max)$",
    r"^[a-z]+[0-9]+$",
    r"^\d{4}-\d{2}-\d{2}$",
    r"^[^/]+(/[^/]+)*\.json$",
    r".*", r"\S*.*", r"[a-z]+[a-z]+\.csv",
]


def _document(pattern: str, *, pre_approved: bool = False) -> dict:
    return {
        "name": "redos", "pre_approved": pre_approved, "example_goals": ["note abc"],
        "patterns": ["note {word}"], "params": [{"name": "word", "pattern": pattern}],
        "plan": {"steps": [{"id": "save", "tool": "files.write", "args": {
            "path": "note.txt", "text": "{{word}}", "overwrite": True}}]},
    }


def _write(directory: Path, document: dict, name: str = "redos.v1.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.timeout(20)
@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_a_pattern_that_backtracks_without_bound_is_refused_naming_the_parameter(pattern):
    with pytest.raises(ValidationError) as caught:
        Template.model_validate(_document(pattern))
    message = str(caught.value)
    assert f"parameter word: pattern {pattern!r} may take too long to match" in message


@pytest.mark.timeout(20)
@pytest.mark.parametrize("pattern", FAST)
def test_patterns_that_match_quickly_are_kept(pattern):
    assert pattern_problem(pattern) is None
    assert Template.model_validate(_document(pattern)).param("word").pattern == pattern


@pytest.mark.timeout(60)  # the guard: a bound that does not hold hangs here
@pytest.mark.parametrize("pattern", FAST + [r"^[a-z]{1,8}(-[a-z]{1,8}){0,3}$"])
def test_a_kept_pattern_is_run_on_a_hostile_text_of_the_longest_length_it_allows(pattern):
    # Texts that end in a character no pattern here accepts, so that re gives back
    # every choice it made before failing.
    n = max(n for n in (CHECKED_LENGTH, 5_000, 20_000, 100_000)
            if not too_slow(pattern, length=n))
    compiled = re.compile(pattern)
    for text in ("a" * (n - 1) + "!", "a." * (n // 2 - 1) + "a!", "a_" * (n // 2) + "!",
                 "https://" + "/" * (n - 9) + " "):
        compiled.fullmatch(text)


def test_the_bound_grows_with_the_text_and_a_catastrophic_one_has_none_worth_running():
    assert match_steps(r"^[a-z]+\.csv$", length=100) < match_steps(r"^[a-z]+\.csv$", length=200)
    assert match_steps(r"^(a|aa)*b$", length=60) > BUDGET
    assert match_steps(r"(a)\1", length=1) is None


@pytest.mark.timeout(20)
def test_the_reviewers_file_in_the_templates_directory_fails_in_one_line_naming_it(tmp_path):
    path = _write(tmp_path, _document(r"^(a|aa)*b$"))
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary.load([SHIPPED_DIR, tmp_path])
    message = caught.value.message
    assert message.startswith(f"{path}: invalid template: params.0.pattern: parameter word: "
                              "pattern '^(a|aa)*b$' may take too long to match")
    assert "fix or remove the file" in message and "\n" not in message


@pytest.mark.timeout(20)
def test_adding_such_a_template_file_is_refused(tmp_path):
    path = _write(tmp_path, _document(r"^([A-Za-z0-9]+[._-]?)*\.csv$"), "mine.yaml")
    with pytest.raises(TemplateError, match="parameter word: pattern .* may take too long"):
        read_new_template(path)


@pytest.mark.timeout(20)
def test_a_back_reference_is_refused_as_unbounded():
    with pytest.raises(ValidationError, match="refers back to a group"):
        Template.model_validate(_document(r"^(a+)\1$"))


@pytest.mark.timeout(20)
def test_a_pattern_given_when_saving_a_plan_as_a_template_is_refused_too():
    plan = Plan.model_validate({"goal": "Read notes.csv", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "notes.csv"}}]})
    with pytest.raises(ValidationError, match="parameter source: pattern .* may take too long"):
        template_from_plan(plan, name="read-notes", params={"source": "notes.csv"},
                           bounds={"source": ParamBounds(
                               pattern=r"^([A-Za-z0-9]+[._-]?)*\.csv$")})


@pytest.mark.timeout(20)
@pytest.mark.parametrize("pattern", [r"re:note (?P<word>(a|aa)*b)", r"re:note (?P<word>\S+\S+\S+)"])
def test_a_goal_pattern_that_backtracks_without_bound_is_refused_naming_the_template(pattern):
    document = _document(r"^[a-z]{1,10}$")
    document["patterns"] = [pattern]
    with pytest.raises(TemplateError) as caught:
        TemplateMatcher(TemplateLibrary([Template.model_validate(document)]))
    assert caught.value.message.startswith(
        f"template redos: pattern {pattern!r} may take too long to match")


def test_a_phrase_pattern_whose_captures_run_together_is_refused_too():
    document = _document(r"^[a-z]{1,10}$")
    document["patterns"] = ["note {word}.{a}.{b}.{c}"]
    document["params"] += [{"name": n, "pattern": r"^[a-z]{1,10}$"} for n in "abc"]
    with pytest.raises(TemplateError, match="may take too long to match"):
        TemplateMatcher(TemplateLibrary([Template.model_validate(document)]))


@pytest.mark.timeout(20)
def test_every_shipped_pattern_keeps_to_the_budget():
    library = TemplateLibrary.load([SHIPPED_DIR])
    TemplateMatcher(library)  # goal patterns: compiled and checked
    for template in library:
        for param in template.params:
            if param.pattern is not None:
                assert pattern_problem(param.pattern) is None, (template.name, param.name)


@pytest.mark.timeout(20)
def test_the_catch_all_probes_are_within_the_checked_length():
    assert max(len(probe) for probe in CATCH_ALL_PROBES) <= CHECKED_LENGTH


# A pattern that is fine on short values and quadratic on long ones: a goal of 10 KB is
# refused as out of bounds without running it.
QUADRATIC = r"^[a-z]+[a-z0-9]+\.csv$"


@pytest.mark.timeout(20)
def test_a_value_too_long_for_its_patterns_bound_is_out_of_bounds_without_running_it():
    template = Template.model_validate(_document(QUADRATIC))
    assert bounds_check(template, {"word": "sales.csv"}) == []
    long_value = "a" * 10_000
    assert too_slow(QUADRATIC, length=len(long_value))
    (problem,) = bounds_check(template, {"word": long_value})
    assert problem == (f"word: a value of {len(long_value)} characters is too long to check "
                       f"against {QUADRATIC} in bounded time")


@pytest.mark.timeout(20)
def test_a_long_goal_against_the_shipped_library_and_a_slow_pattern_does_not_hang():
    template = Template.model_validate(_document(QUADRATIC))
    matcher = TemplateMatcher(TemplateLibrary([*TemplateLibrary.load([SHIPPED_DIR]), template]))
    found, misses = matcher.match("note " + "a" * 10_000)  # the timeout is the guard
    assert found is None
    (miss,) = [m for m in misses if m.template.name == "redos"]
    assert "too long to check" in miss.problems[0]


@pytest.mark.timeout(20)
def test_a_goal_too_long_for_a_goal_patterns_bound_is_no_match_with_the_reason():
    document = _document(r"^[a-z]{1,10}$")
    document["patterns"] = [r"re:note (?P<word>[a-z]+)[a-z0-9]+ x"]
    matcher = TemplateMatcher(TemplateLibrary([Template.model_validate(document)]))
    assert matcher.match("note abc x")[0] is not None
    found, misses = matcher.match("note " + "a" * 20_000)
    assert found is None
    (miss,) = misses
    assert not miss.tried
    assert miss.problems == (
        "the goal (20005 characters) is too long to match against pattern "
        f"{document['patterns'][0]!r} in bounded time",)


def test_the_planner_says_which_templates_a_long_goal_was_not_tried_against(registry):
    document = _document(r"^[a-z]{1,10}$")
    document["patterns"] = [r"re:note (?P<word>[a-z]+)[a-z0-9]+ x"]
    planner = TemplatePlanner(TemplateLibrary([Template.model_validate(document)]))
    with pytest.raises(PlanningError) as caught:
        planner.plan("note " + "a" * 20_000, registry)
    assert ("  template redos was not tried: the goal (20005 characters) is too long to match "
            "against pattern") in caught.value.message


def _every_character() -> str:
    import array

    return array.array("I", range(0x110000)).tobytes().decode("utf-32-le", "surrogatepass")


CLASSES = ["a", "k", "K", "\u212a", "[a-z]", "[^a-z]", "[^kK]", r"\d", r"\D", r"\s", r"\S",
           r"\w", r"\W", r"[^\s\"']", r"[\s,]", r"[^\w.]", ".", "[0-9.]", r"[A-Z\d_]",
           "[\u0100-\uffff]", "[^\u0100-\uffff]", "-", '"']


def _runs(source: str, flags: int, text: str) -> list[tuple[int, int]]:
    """The code points ``source`` (one character) matches in ``text``, as [start, end) runs."""
    return [m.span() for m in re.finditer(f"(?:{source})+", text, flags)]


def _overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> tuple[int, int] | None:
    """A code point in both sorted run lists, as the runs holding it, or None."""
    i = j = 0
    while i < len(a) and j < len(b):
        if max(a[i][0], b[j][0]) < min(a[i][1], b[j][1]):
            return a[i][0], b[j][0]
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return None


@pytest.mark.timeout(60)
def test_characters_called_apart_share_no_code_point():
    from planner.templates import backtracking as bt

    # Each class matches one character: the code points each matches, found once as runs
    # in a text holding every code point, share one exactly when some character matches both.
    text = _every_character()
    items = []
    for flags in (0, re.IGNORECASE):
        for source in CLASSES:
            parsed = re._parser.parse(source, flags | re.UNICODE)  # type: ignore[attr-defined]
            ((op, av),) = parsed.data
            items.append((source, flags, bt._char(op, tuple(av) if op is bt.C.IN else av,
                                                  flags | re.UNICODE),
                          _runs(source, flags, text)))
    checked = 0
    for a_source, a_flags, a, a_runs in items:
        for b_source, b_flags, b, b_runs in items:
            if bt._chars_apart(a, b):
                checked += 1
                shared = _overlap(a_runs, b_runs)
                assert shared is None, (a_source, a_flags, b_source, b_flags, shared)
    assert checked > 50  # the test tells something apart
