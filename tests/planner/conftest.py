"""Fixtures of the planner tests: no test may reach a model outside 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support.openai_server import refuse_remote_endpoints


@pytest.fixture(autouse=True)
def _no_remote_models(monkeypatch):
    """Any openai client built in these tests must point at 127.0.0.1."""
    refuse_remote_endpoints(monkeypatch)
