"""files.list enters only the directories its pattern can match below, leaves out (does not
fail on) what lies deeper than MAX_DEPTH, and leaves out a symlink it cannot follow as it
does a dangling one."""

from __future__ import annotations

import asyncio
import errno
import os
from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.deep_trees import chain, open_fds
from tests.support.deep_trees import registry, workspace  # noqa: F401 - fixtures
from tools import ToolContext, ToolError, ToolRegistry
from tools.builtin import safe_paths
from tools.builtin.safe_paths import MAX_DEPTH


def listed(registry: ToolRegistry, pattern: str = "*", path: str = ".") -> list[str]:
    out = asyncio.run(registry.get("files.list").invoke(
        {"path": path, "pattern": pattern}, ToolContext(idempotency_key="k")))
    return [entry["path"] for entry in out["entries"]]


def test_an_unrelated_tree_past_the_depth_limit_does_not_fail_a_listing(registry, workspace):
    # reports/**/*.csv failed path_too_deep because cache/d/d/… (301 levels) was walked.
    (workspace / "reports").mkdir()
    (workspace / "reports" / "q1.csv").write_text("x")
    (workspace / "cache").mkdir()
    chain(workspace / "cache", 300)
    assert listed(registry, "reports/**/*.csv") == ["reports/q1.csv"]
    assert listed(registry, "**/*.csv") == ["reports/q1.csv"]


def test_a_listing_enters_only_directories_its_pattern_can_match_below(
        registry, workspace, monkeypatch):
    for name in ("reports/2024", "cache/x", "other"):
        (workspace / name).mkdir(parents=True)
    (workspace / "reports/2024/q1.csv").write_text("x")
    entered: list[str] = []
    real = safe_paths._open_dir
    monkeypatch.setattr(safe_paths, "_open_dir",
                        lambda name, fd: entered.append(name) or real(name, fd))
    assert listed(registry, "reports/**/*.csv") == ["reports/2024/q1.csv"]
    assert entered == ["reports", "2024"]
    entered.clear()
    assert listed(registry, "*/2024") == ["reports/2024"]
    assert sorted(entered) == ["cache", "other", "reports"]  # not 2024 itself nor cache/x


def test_matches_past_the_depth_limit_are_left_out_and_those_at_it_listed(registry, workspace):
    chain(workspace, MAX_DEPTH - 1, leaf="at.csv")  # at.csv is component MAX_DEPTH
    deepest = workspace.joinpath(*["a"] * (MAX_DEPTH - 1))
    chain(deepest, 3, leaf="past.csv")
    (deepest / "b.csv").write_text("x")
    (workspace / "top.csv").write_text("x")
    before = open_fds()
    deep = "/".join(["a"] * (MAX_DEPTH - 1))
    assert listed(registry, "**/*.csv") == [f"{deep}/at.csv", f"{deep}/b.csv", "top.csv"]
    assert listed(registry, "**") == ["/".join(["a"] * n) for n in range(1, MAX_DEPTH + 1)]
    assert open_fds() == before


def test_a_tree_deeper_than_python_recursion_is_listed_down_to_the_limit(registry, workspace):
    chain(workspace, 1100, leaf="deep.csv")  # neither a RecursionError nor a failed listing
    (workspace / "top.csv").write_text("x")
    before = open_fds()
    assert listed(registry, "**/*.csv") == ["top.csv"]
    assert open_fds() == before


@pytest.mark.parametrize("pattern", ["*", "**/*", "odd*"])
def test_a_symlink_whose_target_name_is_too_long_is_left_out_like_a_dangling_one(
        registry, workspace, pattern):
    # "cannot open 'odd-link': File name too long" failed the whole listing (file_os_error).
    (workspace / "report.csv").write_text("a,b\n")
    os.symlink("x" * 300, workspace / "odd-link")
    os.symlink("missing", workspace / "odd-dangling")
    assert listed(registry, pattern) == ([] if pattern == "odd*" else ["report.csv"])


def test_a_failure_of_the_listing_itself_while_following_a_link_still_fails_it(
        registry, workspace, monkeypatch):
    os.symlink("report.csv", workspace / "link")

    def out_of_descriptors(self, path, **kwargs):
        exc = OSError(errno.EMFILE, "Too many open files")
        raise safe_paths.os_error(path, "open", exc) from exc

    monkeypatch.setattr(safe_paths.Workspace, "walk", out_of_descriptors)
    with safe_paths.Workspace(workspace) as ws, pytest.raises(ToolError) as caught:
        safe_paths.scan(ws, ws.fd, (), ("*",), 10)
    assert caught.value.code == "file_os_error" and "Too many open files" in str(caught.value)


def _reference(names: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """The plain recursive definition of a match ('**' spans zero or more names)."""
    if not pattern:
        return not names
    if pattern[0] == "**":
        return any(_reference(names[i:], pattern[1:]) for i in range(len(names) + 1))
    return bool(names) and fnmatchcase(names[0], pattern[0]) \
        and _reference(names[1:], pattern[1:])


def _reached(names: tuple[str, ...], pattern: tuple[str, ...]) -> frozenset[int]:
    pattern = safe_paths._one_double_star_per_run(pattern)
    reached = safe_paths._step(frozenset({0}), None, pattern)
    for name in names:
        reached = safe_paths._step(reached, name, pattern)
    return reached


_SEGMENTS = st.sampled_from(["**", "*", "a", "b", "?", "[ab]", "*.txt", "a*", ".*", "x.txt"])
_NAMES = st.sampled_from(["a", "b", "ab", "x.txt", ".h", "*"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_NAMES, max_size=5).map(tuple), st.lists(_SEGMENTS, max_size=6).map(tuple),
       st.lists(_NAMES, max_size=3).map(tuple))
def test_the_walks_matching_is_the_recursive_definition_and_prunes_only_dead_ends(
        names, pattern, more):
    reached = _reached(names, pattern)
    folded = safe_paths._one_double_star_per_run(pattern)
    assert (len(folded) in reached) == _reference(names, pattern)
    if not reached:  # pruned here: nothing below can match either
        assert not _reference(names + more, pattern)
