"""The response size cap judges the bodies a call uses: a 2xx one over it fails the call, any other
is left out and the status decides, as for a body that cannot be decoded.

A ``304 Not Modified`` declaring ``Content-Length: 10000000`` failed as
``http_response_too_large`` though a 304 carries no body; a 429 or 503 with a page over the cap
failed for good instead of being retried after its Retry-After; a 302 with a body over the cap
failed instead of being returned.
"""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import pytest

from tests.support import Reply
from tools import ToolContext, ToolError, ToolRegistry
from tools.builtin import register_builtin_tools

LIMIT = 2000
OVER = b"r" * 3000


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path / "ws", http_max_response_bytes=LIMIT)
    return registry


def call(registry: ToolRegistry, url: str, method: str = "GET") -> dict:
    return asyncio.run(registry.get("http.request").invoke(
        {"url": url, "method": method}, ToolContext(idempotency_key="k")))


def failed(registry: ToolRegistry, url: str) -> ToolError:
    with pytest.raises(ToolError) as caught:
        call(registry, url)
    return caught.value


@pytest.mark.parametrize("status", [304, 204])
def test_an_answer_without_a_body_is_not_judged_by_its_declared_length(
        registry, http_server, status):
    http_server.script("/n", Reply(status=status, send_length=False, headers={
        "Content-Length": "10000000", "ETag": '"abc"'}))
    out = call(registry, http_server.url("/n"))
    assert out["status"] == status and out["text"] == "" and out["headers"]["etag"] == '"abc"'


@pytest.mark.parametrize("reply", [
    Reply(status=429, body=OVER, headers={"Retry-After": "2"}),
    Reply(status=503, body=OVER, headers={"Retry-After": "2"}, send_length=False),
    Reply(status=503, body=gzip.compress(OVER, mtime=0),
          headers={"Retry-After": "2", "Content-Encoding": "gzip"}),
], ids=["declared", "unannounced", "gzip"])
def test_a_retryable_status_with_a_body_over_the_cap_stays_retryable(
        registry, http_server, reply):
    http_server.script("/busy", reply)
    error = failed(registry, http_server.url("/busy"))
    assert error.code == f"http_{reply.status}" and error.retryable
    assert error.retry_after_s == 2.0
    assert f"body not shown: over the limit of {LIMIT} bytes" in error.message
    assert "rrrr" not in error.message


def test_a_final_error_status_with_a_body_over_the_cap_keeps_its_code(registry, http_server):
    http_server.script("/gone", Reply(status=404, body=OVER))
    error = failed(registry, http_server.url("/gone"))
    assert error.code == "http_404" and not error.retryable
    assert "body not shown: over the limit" in error.message


@pytest.mark.parametrize("send_length", [True, False])
def test_a_redirect_with_a_body_over_the_cap_is_returned_without_it(
        registry, http_server, send_length):
    http_server.script("/r", Reply(status=302, body=OVER, headers={"Location": "/x"},
                                   send_length=send_length))
    out = call(registry, http_server.url("/r"))
    assert out["status"] == 302 and out["headers"]["location"] == "/x"
    assert out["text"] == "" and out["json"] is None


@pytest.mark.parametrize("send_length", [True, False])
def test_a_2xx_body_over_the_cap_still_fails_for_good(registry, http_server, send_length):
    http_server.script("/big", Reply(body=OVER, send_length=send_length))
    error = failed(registry, http_server.url("/big"))
    assert error.code == "http_response_too_large" and not error.retryable
