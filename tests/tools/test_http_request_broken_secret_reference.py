"""``http.request`` refuses a header holding ``${secret:`` that is no whole reference.

``${secret:MY TOKEN}`` (a space), an unclosed ``${secret:X`` or ``${secret:}`` fill nothing:
the call sent them as written, a bogus credential to the endpoint. Refused when the call's
arguments are read, before anything is sent (a plan's header may come from an earlier step).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from tools import ToolContext, ToolRegistry
from tools.builtin import register_builtin_tools

BROKEN = ["Bearer ${secret:MY TOKEN}", "Bearer ${secret:X", "${secret:}",
          "${secret:OK} and ${secret:not ok}"]


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path / "ws")
    return registry


@pytest.mark.parametrize("value", BROKEN)
def test_the_call_is_refused_before_anything_is_sent(registry, http_server, value):
    args = {"url": http_server.url("/x"), "headers": {"Authorization": value}}
    with pytest.raises(ValidationError, match="outside a reference"):
        asyncio.run(registry.get("http.request").invoke(args, ToolContext(idempotency_key="k")))
    assert http_server.count() == 0


def test_whole_references_are_filled(registry, http_server):
    args = {"url": http_server.url("/x"), "headers": {"Authorization": "Bearer ${secret:T}"}}
    context = ToolContext(idempotency_key="k", secrets={"T": "s3cr3t-value"})
    asyncio.run(registry.get("http.request").invoke(args, context))
    assert http_server.count() == 1
