"""Fixtures of the tool tests: the built-in tools over a workspace of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import ToolRegistry
from tools.builtin import register_builtin_tools


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The workspace directory (not made: the tools make what they write into)."""
    return tmp_path / "ws"


@pytest.fixture
def registry(workspace: Path) -> ToolRegistry:
    """Every built-in tool, confined to ``workspace``."""
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=workspace)
    return registry
