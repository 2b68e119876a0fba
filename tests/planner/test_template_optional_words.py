"""``[words]`` in a phrase pattern may be left out, any of them, wherever they are.

"list files [now] [please]" used to compile to ``list\\s+files\\s+(?:now\\s+)?(?:please)?``,
which needs a space after "files" and after "now": "list files" and "list files now" did
not match.
"""

from __future__ import annotations

import itertools

import pytest

from planner.templates import Template, TemplateLibrary, TemplateMatcher


def _matcher(pattern: str) -> TemplateMatcher:
    return TemplateMatcher(TemplateLibrary([Template.model_validate({
        "name": "opt", "patterns": [pattern],
        "plan": {"steps": [{"id": "a", "tool": "files.list", "args": {}}]}})]))


def _goals(words: list[str], optional: set[str]):
    """Every goal the words make with each subset of the optional ones left out."""
    choices = [w for w in words if w in optional]
    for kept in itertools.product([True, False], repeat=len(choices)):
        keep = dict(zip(choices, kept, strict=True))
        yield " ".join(w for w in words if w not in optional or keep[w])


@pytest.mark.parametrize(("pattern", "words", "optional"), [
    ("list files [now] [please]", ["list", "files", "now", "please"], {"now", "please"}),
    ("[please] list files", ["please", "list", "files"], {"please"}),
    ("[please] [now] list files", ["please", "now", "list", "files"], {"please", "now"}),
    ("list [all] files", ["list", "all", "files"], {"all"}),
    ("list [all] [the] files", ["list", "all", "the", "files"], {"all", "the"}),
    ("[please] list [all] files [now]", ["please", "list", "all", "files", "now"],
     {"please", "all", "now"}),
])
def test_any_subset_of_the_optional_words_may_be_left_out(pattern, words, optional):
    matcher = _matcher(pattern)
    goals = list(_goals(words, optional))
    assert len(goals) == 2 ** len(optional)
    for goal in goals:
        assert matcher.match(goal)[0] is not None, goal
        assert matcher.match(goal.replace(" ", "\t  ") + ".")[0] is not None, goal


@pytest.mark.parametrize(("pattern", "goal"), [
    ("list files [now] [please]", "list filesnow"),
    ("list files [now] [please]", "list files nowplease"),
    ("list files [now] [please]", "list files please now"),
    ("[please] list files", "pleaselist files"),
    ("list [all] files", "list allfiles"),
    ("list [all] files", "listfiles"),
    ("list files [now]", "list files "),  # normalised away: matches; see below
])
def test_leaving_words_out_never_lets_the_others_run_together(pattern, goal):
    found = _matcher(pattern).match(goal)[0]
    assert (found is not None) == (goal == "list files ")


def test_optional_words_with_a_capture_still_capture_it():
    matcher = TemplateMatcher(TemplateLibrary([Template.model_validate({
        "name": "opt", "patterns": ["read [the] [file] {path} [now] [please]"],
        "params": [{"name": "path"}],
        "plan": {"steps": [{"id": "a", "tool": "files.read", "args": {"path": "{{path}}"}}]}})]))
    for goal in ("read a.txt", "read the a.txt now", "read file a.txt please",
                 "read the file a.txt now please"):
        found = matcher.match(goal)[0]
        assert found is not None and found.params == {"path": "a.txt"}, goal
