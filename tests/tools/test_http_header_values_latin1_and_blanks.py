"""Header values as HTTP carries them: latin-1 sent as its bytes, a blank at either end refused.

``{"X-Name": "café"}`` or a secret ``pässwörd123`` passed the header checks, then httpx encoded
the value as ASCII: a UnicodeEncodeError crashed the call (``tool_crashed``) quoting a character
of the secret and its position. A value with a space or tab at its start or end (``"abc "``, a
secret read from a file with its trailing blank) failed every attempt as a retried transport
error (h11's "Illegal header value").
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tools import ToolContext, ToolDefinitionError, ToolError, ToolRegistry
from tools.builtin import register_builtin_tools
from tools.http_endpoint import register_http_tool


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path / "ws")
    return registry


def call(registry: ToolRegistry, args: dict, secrets: dict | None = None) -> dict:
    context = ToolContext(idempotency_key="k", secrets=secrets or {})
    return asyncio.run(registry.get("http.request").invoke(args, context))


def refused(registry: ToolRegistry, args: dict, secrets: dict | None = None) -> ToolError:
    with pytest.raises(ToolError) as caught:
        call(registry, args, secrets)
    return caught.value


def test_a_latin1_header_value_is_sent_as_its_latin1_bytes(registry, http_server):
    out = call(registry, {"url": http_server.url("/h"), "headers": {"X-Name": "café"}})
    assert out["status"] == 200
    [request] = http_server.requests("/h")
    assert request.headers["x-name"] == "café"  # the server reads header bytes as latin-1


def test_a_latin1_secret_is_sent_and_never_quoted(registry, http_server):
    out = call(registry, {"url": http_server.url("/s"),
                          "headers": {"Authorization": "Basic ${secret:S}"}},
               {"S": "pässwörd123"})
    assert out["status"] == 200
    [request] = http_server.requests("/s")
    assert request.headers["authorization"] == "Basic pässwörd123"


def test_a_value_outside_latin1_is_refused_naming_the_secret_not_its_characters(
        registry, http_server):
    error = refused(registry, {"url": http_server.url("/e"),
                               "headers": {"X-Key": "${secret:S}"}}, {"S": "pa€ss-word-123"})
    assert error.code == "http_bad_header" and not error.retryable
    assert "'X-Key'" in error.message and "'S'" in error.message
    assert "€" not in error.message and "word" not in error.message
    assert http_server.count() == 0


@pytest.mark.parametrize("value", ["abc ", " abc", "\tabc", "abc\t", " "])
def test_a_value_with_a_blank_at_either_end_is_refused_before_sending(
        registry, http_server, value):
    error = refused(registry, {"url": http_server.url("/b"), "headers": {"X-Name": value}})
    assert error.code == "http_bad_header" and not error.retryable
    assert "'X-Name'" in error.message and "start or end" in error.message
    assert http_server.count() == 0


def test_a_secret_ending_in_a_space_is_refused_naming_it_never_its_value(registry, http_server):
    error = refused(registry, {"url": http_server.url("/b"),
                               "headers": {"Authorization": "Bearer ${secret:S}"}},
                    {"S": "sekrit-value-123 "})
    assert error.code == "http_bad_header" and not error.retryable
    assert "'Authorization'" in error.message and "'S'" in error.message
    assert "sekrit" not in error.message
    assert http_server.count() == 0


@pytest.mark.parametrize("value", ["a b", "a\tb", ""])
def test_blanks_inside_a_value_and_an_empty_value_are_sent(registry, http_server, value):
    out = call(registry, {"url": http_server.url("/ok"), "headers": {"X-V": value}})
    assert out["status"] == 200
    [request] = http_server.requests("/ok")
    assert request.headers["x-v"] == value


def test_an_endpoint_table_may_put_a_secret_after_a_space_but_not_end_with_one(tmp_path):
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.get", url="https://crm.example/x", method="GET",
                       description="x", secrets=["T"],
                       headers={"Authorization": "Bearer ${secret:T}"})
    with pytest.raises(ToolDefinitionError, match="'X-Name'.*start or end"):
        register_http_tool(registry, name="crm.bad", url="https://crm.example/x", method="GET",
                           description="x", headers={"X-Name": "abc "})
