"""A body http.request can read as text but not use as JSON, or in a charset that is no text
codec Python can use, is still returned (or still decides nothing on an error status).

``charset=idna`` (or ``punycode``, ``undefined``) raised UnicodeError past the LookupError
handler; JSON nested 200,000 deep raised RecursionError; ``1e400`` parsed to an infinite float
the output checks refused (``tool_output_not_finite``). The first two crashed the call
(``tool_crashed``), so a 503 carrying such a body was not retried.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.support import Reply
from tools import ToolContext, ToolError, ToolRegistry
from tools.output_checks import OUTPUT_MAX_DEPTH

ODD_BYTES = b"\xff\xfehello"


def call(registry: ToolRegistry, url: str) -> dict:
    return asyncio.run(registry.get("http.request").invoke(
        {"url": url}, ToolContext(idempotency_key="k")))


def failed(registry: ToolRegistry, url: str) -> ToolError:
    with pytest.raises(ToolError) as caught:
        call(registry, url)
    return caught.value


@pytest.mark.parametrize("charset", ["idna", "punycode", "undefined", "bogus", "base64"])
def test_a_charset_that_is_no_usable_text_codec_is_read_as_utf8(registry, http_server, charset):
    http_server.script("/c", Reply(body=ODD_BYTES,
                                   headers={"Content-Type": f"text/plain; charset={charset}"}))
    out = call(registry, http_server.url("/c"))
    assert out["status"] == 200 and out["text"] == "\ufffd\ufffdhello"


def test_a_503_in_such_a_charset_is_still_retryable(registry, http_server):
    http_server.script("/c", Reply(status=503, body=ODD_BYTES, headers={
        "Content-Type": "text/plain; charset=idna", "Retry-After": "1"}))
    error = failed(registry, http_server.url("/c"))
    assert error.code == "http_503" and error.retryable and error.retry_after_s == 1.0


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [OUTPUT_MAX_DEPTH + 1, 5_000, 200_000])
def test_json_nested_deeper_than_an_output_may_is_kept_as_text_only(registry, http_server, depth):
    http_server.script("/d", Reply(body=_nested(depth),
                                   headers={"Content-Type": "application/json"}))
    out = call(registry, http_server.url("/d"))
    assert out["status"] == 200 and out["json"] is None
    assert len(out["text"]) == 2 * depth


def test_json_as_deep_as_an_output_may_nest_is_parsed(registry, http_server):
    http_server.script("/d", Reply(body=_nested(OUTPUT_MAX_DEPTH),
                                   headers={"Content-Type": "application/json"}))
    assert call(registry, http_server.url("/d"))["json"] is not None


def test_a_503_with_deeply_nested_json_is_still_retryable(registry, http_server):
    http_server.script("/d", Reply(status=503, body=_nested(200_000),
                                   headers={"Content-Type": "application/json"}))
    error = failed(registry, http_server.url("/d"))
    assert error.code == "http_503" and error.retryable


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1.5e999"])
def test_a_number_too_large_for_a_float_is_not_json(registry, http_server, number):
    body = '{"amount": %s, "ok": true}' % number
    http_server.script("/f", Reply(body=body.encode(),
                                   headers={"Content-Type": "application/json"}))
    out = call(registry, http_server.url("/f"))
    assert out["json"] is None and out["text"] == body


def test_ordinary_numbers_still_parse(registry, http_server):
    http_server.script("/f", Reply(body={"a": 1.5e308, "b": -2.5, "c": 10**30, "d": 1e-400}))
    assert call(registry, http_server.url("/f"))["json"] == json.loads(
        '{"a": 1.5e308, "b": -2.5, "c": 1000000000000000000000000000000, "d": 0.0}')
