"""A body http.request cannot decode fails the call only when the call needs it (a 2xx answer):
a 429 or 5xx keeps its retryable error and Retry-After, a 3xx is still returned, a 4xx keeps its
own code. And an encoded body's Content-Length (its size on the wire) does not decide the cap,
which counts decoded bytes."""

from __future__ import annotations

import asyncio
import gzip
import os
import random
from pathlib import Path

import pytest

from tests.support import Reply
from tools import ToolContext, ToolError, ToolRegistry
from tools.builtin import register_builtin_tools

LIMIT = 1000
BROTLI_ISH = b"\x0b\x02\x80oops\x03"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # the same bytes in every xdist worker's collection


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path / "ws", http_max_response_bytes=LIMIT)
    return registry


def call(registry: ToolRegistry, args: dict) -> dict:
    return asyncio.run(registry.get("http.request").invoke(args, ToolContext(idempotency_key="k")))


def refused(registry: ToolRegistry, http_server, reply: Reply) -> ToolError:
    http_server.script("/z", reply)
    with pytest.raises(ToolError) as caught:
        call(registry, {"url": http_server.url("/z")})
    return caught.value


@pytest.mark.parametrize(("status", "encoding", "body"), [
    (503, "br", BROTLI_ISH),
    (503, "compress", b"busy"),
    (429, "gzip, gzip", gz(gz(b"slow down"))),
    (502, "gzip", b"<html>bad gateway</html>"),  # corrupt
    (503, "gzip", gz(random.Random(0).randbytes(600))[:300]),  # cut
], ids=["br", "compress", "stacked", "corrupt", "cut"])
def test_a_retryable_status_with_an_undecodable_body_stays_retryable(
        registry, http_server, status, encoding, body):
    # It was http_unsupported_encoding / http_bad_encoding, final: the 503 was never retried.
    error = refused(registry, http_server, Reply(status=status, body=body, headers={
        "Content-Encoding": encoding, "Retry-After": "1"}))
    assert error.code == f"http_{status}" and error.retryable
    assert error.retry_after_s == 1.0
    assert "body not shown:" in str(error) and "(Retry-After 1s)" in str(error)


def test_a_final_error_status_keeps_its_own_code_when_its_body_cannot_be_decoded(
        registry, http_server):
    error = refused(registry, http_server, Reply(status=404, body=BROTLI_ISH,
                                                 headers={"Content-Encoding": "br"}))
    assert error.code == "http_404" and not error.retryable
    assert "does not decode Content-Encoding 'br'" in str(error)


@pytest.mark.parametrize(("encoding", "body"), [("br", BROTLI_ISH), ("gzip", b"not gzip")],
                         ids=["br", "corrupt"])
def test_a_redirect_with_an_undecodable_body_is_returned_without_it(
        registry, http_server, encoding, body):
    http_server.script("/r", Reply(status=301, body=body, headers={
        "Location": "/y", "Content-Encoding": encoding}))
    out = call(registry, {"url": http_server.url("/r")})
    assert out["status"] == 301 and out["headers"]["location"] == "/y"
    assert out["text"] == "" and out["json"] is None


def test_a_redirect_with_a_decodable_body_is_returned_decoded(registry, http_server):
    http_server.script("/r", Reply(status=302, body=gzip.compress(b"moved"), headers={
        "Location": "/y", "Content-Encoding": "gzip"}))
    assert call(registry, {"url": http_server.url("/r")})["text"] == "moved"


def test_an_error_status_with_a_decodable_body_still_quotes_it(registry, http_server):
    error = refused(registry, http_server, Reply(status=503, body=gzip.compress(b"busy"),
                                                 headers={"Content-Encoding": "gzip"}))
    assert error.code == "http_503" and ": busy" in str(error) and "not shown" not in str(error)


@pytest.mark.parametrize(("encoding", "body", "code"), [
    ("br", BROTLI_ISH, "http_unsupported_encoding"),
    ("gzip, gzip", gz(gz(b"x")), "http_unsupported_encoding"),
    ("gzip", b"not gzip", "http_bad_encoding"),
], ids=["br", "stacked", "corrupt"])
def test_a_2xx_body_that_cannot_be_decoded_still_fails_for_good(
        registry, http_server, encoding, body, code):
    error = refused(registry, http_server, Reply(body=body, headers={"Content-Encoding": encoding}))
    assert error.code == code and not error.retryable


@pytest.mark.parametrize("send_length", [True, False], ids=["content-length", "close-delimited"])
def test_a_gzip_body_decoding_within_the_cap_is_read_whatever_its_length_on_the_wire(
        registry, http_server, send_length):
    # 1000 random bytes gzip to about 1023: the declared length was held against the cap on
    # decoded bytes and the body refused, though the same body without it was accepted.
    data = os.urandom(LIMIT)
    body = gzip.compress(data, mtime=0)
    assert len(body) > LIMIT
    http_server.script("/g", Reply(body=body, send_length=send_length, headers={
        "Content-Encoding": "gzip", "Content-Type": "text/plain; charset=latin-1"}))
    assert call(registry, {"url": http_server.url("/g")})["text"] == data.decode("latin-1")


def test_an_unencoded_body_over_the_cap_is_still_refused_by_its_content_length(
        registry, http_server):
    error = refused(registry, http_server, Reply(body=b"a" * (LIMIT + 1)))
    assert error.code == "http_response_too_large"
    assert f"of {LIMIT + 1} bytes" in str(error)  # refused before reading, by the header


def test_a_gzip_body_decoding_past_the_cap_is_refused_whatever_its_content_length(
        registry, http_server):
    error = refused(registry, http_server, Reply(body=gzip.compress(os.urandom(LIMIT + 1)),
                                                 headers={"Content-Encoding": "gzip"}))
    assert error.code == "http_response_too_large" and "gzip-decoded" in str(error)
