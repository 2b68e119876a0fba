"""files.*: directories a write creates are no symlink hops, paths are bounded at MAX_DEPTH
components (typed ``path_too_deep``, never a RecursionError), and what the system refuses is a
typed error, never a raw OSError."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.deep_trees import chain, remove_chain
from tests.support.deep_trees import registry, workspace  # noqa: F401 - fixtures
from tools import ToolContext, ToolError, ToolInputError, ToolRegistry
from tools.builtin import safe_paths
from tools.builtin.safe_paths import MAX_DEPTH, MAX_SYMLINKS


def call(registry: ToolRegistry, tool: str, **args) -> dict:
    return asyncio.run(registry.get(tool).invoke(args, ToolContext(idempotency_key="k")))


@pytest.mark.parametrize("new_dirs", [MAX_SYMLINKS + 1, 100])
def test_a_write_may_create_more_directories_than_the_symlink_budget(
        registry, workspace, new_dirs):
    # Each directory made counted as a symlink hop: 41 failed "too many levels of symlinks".
    path = "/".join(f"d{i}" for i in range(new_dirs)) + "/out.txt"
    assert call(registry, "files.write", path=path, text="x")["path"] == path
    assert (workspace / path).read_text() == "x"


def test_a_write_at_the_depth_limit_is_made_and_one_past_it_is_refused_before_any_mkdir(
        registry, workspace):
    path = "/".join(["d"] * (MAX_DEPTH - 1)) + "/out.txt"  # MAX_DEPTH components
    assert call(registry, "files.write", path=path, text="x")["bytes"] == 1
    remove_chain(workspace)
    with pytest.raises(ToolInputError) as caught:
        call(registry, "files.write", path="e/" + path, text="x")
    assert caught.value.code == "path_too_deep"
    assert f"at most {MAX_DEPTH} components" in str(caught.value)
    assert list(workspace.iterdir()) == []


def test_a_directory_that_keeps_vanishing_still_ends_the_walk(registry, monkeypatch):
    monkeypatch.setattr(safe_paths, "_mkdir", lambda name, dir_fd: None)  # made, removed at once
    with pytest.raises(ToolInputError, match="keeps changing") as caught:
        call(registry, "files.write", path="a/b.txt", text="x")
    assert caught.value.code == "path_refused"


def test_a_symlink_leading_past_the_depth_limit_is_refused(registry, workspace):
    chain(workspace, MAX_DEPTH - 1)
    deepest = workspace.joinpath(*["a"] * (MAX_DEPTH - 1))
    os.symlink("../" * (MAX_DEPTH - 1) + "a", deepest / "loop")  # back to the first level
    with pytest.raises(ToolInputError) as caught:
        call(registry, "files.read", path="/".join(["a"] * (MAX_DEPTH - 1)) + "/loop/a/x")
    assert caught.value.code == "path_too_deep"


def test_a_tree_exactly_at_the_depth_limit_is_listed_whole(registry, workspace):
    chain(workspace, MAX_DEPTH - 1, leaf="deep.csv")  # deep.csv is component MAX_DEPTH
    found = call(registry, "files.list", pattern="**/*.csv")["entries"]
    assert [e["path"] for e in found] == ["/".join(["a"] * (MAX_DEPTH - 1)) + "/deep.csv"]
    assert call(registry, "files.read", path=found[0]["path"])["bytes"] == 0


def test_a_pattern_of_many_double_stars_is_matched_without_recursion(registry, workspace):
    chain(workspace, 3, leaf="x.csv")
    pattern = "/".join(["**"] * 2000 + ["*.csv"])  # RecursionError in the old matcher
    assert [e["path"] for e in call(registry, "files.list", pattern=pattern)["entries"]] == [
        "a/a/a/x.csv"]


@pytest.fixture
def unix_socket(workspace: Path) -> Iterator[str]:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(workspace / "sock"))
    yield "sock"
    server.close()


def test_reading_a_socket_is_refused_as_not_a_regular_file(registry, unix_socket):
    # Opening it gave ENXIO, raised as a raw OSError (tool_crashed); a FIFO said this.
    with pytest.raises(ToolInputError) as caught:
        call(registry, "files.read", path=unix_socket)
    assert caught.value.code == "file_not_found"
    assert "not a regular file" in str(caught.value)


def test_writing_over_a_socket_is_refused_and_listing_shows_it(registry, workspace, unix_socket):
    with pytest.raises(ToolInputError, match="not a regular file"):
        call(registry, "files.write", path=unix_socket, text="x", overwrite=True)
    assert (workspace / unix_socket).is_socket()
    listed = call(registry, "files.list")["entries"]
    assert [(e["path"], e["is_dir"]) for e in listed] == [(unix_socket, False)]


@pytest.mark.parametrize(("tool", "args"), [
    ("files.read", {}), ("files.write", {"text": "x"}), ("files.list", {"pattern": "*"}),
])
def test_what_the_system_refuses_is_a_final_typed_error_naming_why(registry, tool, args):
    name = "n" * 300  # over NAME_MAX: ENAMETOOLONG was a raw OSError
    with pytest.raises(ToolError) as caught:
        call(registry, tool, path=name, **args)
    assert caught.value.code == "file_os_error" and not caught.value.retryable
    assert "File name too long" in str(caught.value)
