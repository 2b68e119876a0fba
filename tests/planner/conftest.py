"""Fixtures of the planner tests: no test may reach a model outside 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support.openai_server import refuse_remote_endpoints
from tools import ToolRegistry


@pytest.fixture(autouse=True)
def _no_remote_models(monkeypatch):
    """Any openai client built in these tests must point at 127.0.0.1."""
    refuse_remote_endpoints(monkeypatch)


@pytest.fixture
def registry() -> ToolRegistry:
    """A registry of one tool, ``files.read``: a module needing others defines its own."""
    reg = ToolRegistry()

    @reg.tool("files.read")
    def read(path: str) -> str:
        """Read a text file from the workspace."""
        return ""

    return reg
