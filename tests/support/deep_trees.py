"""Directory trees deeper than any path may be long (for the files.* depth limits), built and
removed by descriptor, in a temporary directory of their own; and the fixtures of a workspace
for them and of the built-in tools over it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tools import ToolRegistry
from tools.builtin import register_builtin_tools


@contextmanager
def deep_workspace() -> Iterator[Path]:
    """A fresh directory for deep trees, removed (without recursion) afterwards."""
    # Not under tmp_path: pytest removes old temp trees with shutil.rmtree, which recurses, so
    # a tree 1,100 levels deep left there by a killed run would break every later session.
    root = Path(tempfile.mkdtemp(prefix="baton-deep-"))
    try:
        yield root
    finally:
        remove_chain(root)
        root.rmdir()


@pytest.fixture
def workspace() -> Iterator[Path]:
    """A :func:`deep_workspace` for one test."""
    with deep_workspace() as root:
        yield root


@pytest.fixture
def registry(workspace: Path) -> ToolRegistry:
    """The built-in tools over :func:`workspace`."""
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=workspace)
    return registry


def chain(root: Path, depth: int, leaf: str | None = None) -> None:
    """Directories ``a/a/…`` ``depth`` levels deep under ``root`` (by descriptor: no path is
    too long), with an empty file ``leaf`` in the last one."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("a", dir_fd=fd)
            fd, parent = os.open("a", os.O_RDONLY, dir_fd=fd), fd
            os.close(parent)
        if leaf is not None:
            os.close(os.open(leaf, os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)


def remove_chain(root: Path) -> None:
    """Remove everything under ``root`` without recursion (os.walk recurses before 3.12)."""
    levels = [(None, os.open(root, os.O_RDONLY | os.O_DIRECTORY), list(os.scandir(root)))]
    while levels:
        name, fd, entries = levels[-1]
        if not entries:
            levels.pop()
            os.close(fd)
            if levels:
                os.rmdir(name, dir_fd=levels[-1][1])
            continue
        entry = entries.pop()
        if entry.is_dir(follow_symlinks=False):
            sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            levels.append((entry.name, sub, list(os.scandir(sub))))
        else:
            os.unlink(entry.name, dir_fd=fd)


def open_fds() -> int:
    """How many descriptors this process holds open."""
    return len(os.listdir("/proc/self/fd"))
