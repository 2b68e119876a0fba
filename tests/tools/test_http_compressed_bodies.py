"""http.request decodes a gzip or deflate body a bounded slice at a time, the cap counting the
decoded bytes, and fails for good, typed, on a body it cannot decode within the cap."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from pathlib import Path

import pytest

from tests.support import Reply
from tools import ToolContext, ToolError, ToolRegistry
from tools.builtin import register_builtin_tools
from tools.http_endpoint import register_http_tool

LIMIT = 1 << 20


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path / "ws", http_max_response_bytes=LIMIT)
    return registry


def call(registry: ToolRegistry, args: dict, tool: str = "http.request") -> dict:
    return asyncio.run(registry.get(tool).invoke(args, ToolContext(idempotency_key="k")))


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def zeros_gzipped(mib: int) -> bytes:
    """A gzip stream of ``mib`` MiB of zeros, made a MiB at a time (about 1 KB per MiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(mib)) + packer.flush()


def refused(registry: ToolRegistry, http_server, reply: Reply) -> ToolError:
    http_server.script("/z", reply)
    with pytest.raises(ToolError) as caught:
        call(registry, {"url": http_server.url("/z")})
    return caught.value


def test_a_gzip_bomb_is_refused_with_memory_near_the_cap(registry, http_server):
    # 64 KB on the wire, 64 MiB once decoded: httpx inflated each chunk in full before the
    # cap was looked at (512 MiB and 1 GiB of RSS for the reviewer's 980-byte body).
    body = zeros_gzipped(64)
    tracemalloc.start()
    try:
        error = refused(registry, http_server, Reply(body=body,
                                                     headers={"Content-Encoding": "gzip"}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * LIMIT, f"peak {peak} bytes while reading a body capped at {LIMIT}"
    assert error.code == "http_response_too_large" and not error.retryable
    assert f"exceeds the limit of {LIMIT} bytes" in str(error) and "gzip-decoded" in str(error)


def test_stacked_encodings_are_refused_before_any_is_decoded(registry, http_server):
    body = gz(zeros_gzipped(64))  # 300 bytes, 64 MiB once both layers are undone
    error = refused(registry, http_server, Reply(body=body,
                                                 headers={"Content-Encoding": "gzip, gzip"}))
    assert error.code == "http_unsupported_encoding" and not error.retryable
    assert "'gzip, gzip'" in str(error) and "stacked" in str(error)


@pytest.mark.parametrize("header", ["gzip", "x-gzip", "GZIP", "identity, gzip"])
def test_a_gzip_body_is_decoded(registry, http_server, header):
    http_server.script("/j", Reply(body=gz(b'{"a": 1}'), headers={
        "Content-Encoding": header, "Content-Type": "application/json"}))
    out = call(registry, {"url": http_server.url("/j")})
    assert out["json"] == {"a": 1} and out["text"] == '{"a": 1}'


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_a_deflate_body_is_decoded_zlib_wrapped_or_raw(registry, http_server, wbits):
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = packer.compress(b"hello " * 1000) + packer.flush()
    http_server.script("/d", Reply(body=body, headers={"Content-Encoding": "deflate"}))
    assert call(registry, {"url": http_server.url("/d")})["text"] == "hello " * 1000


def test_every_member_of_a_gzip_body_is_decoded(registry, http_server):
    http_server.script("/m", Reply(body=gz(b"one,") + gz(b"two"),
                                   headers={"Content-Encoding": "gzip"}))
    assert call(registry, {"url": http_server.url("/m")})["text"] == "one,two"


def test_bytes_after_the_gzip_data_are_ignored_as_httpx_did(registry, http_server):
    http_server.script("/t", Reply(body=gz(b"data") + b"\0\0junk",
                                   headers={"Content-Encoding": "gzip"}))
    assert call(registry, {"url": http_server.url("/t")})["text"] == "data"


def test_a_body_decoding_to_exactly_the_cap_is_returned_and_one_byte_more_is_not(
        registry, http_server):
    http_server.script("/cap", Reply(body=gz(b"a" * LIMIT), headers={"Content-Encoding": "gzip"}))
    assert len(call(registry, {"url": http_server.url("/cap")})["text"]) == LIMIT
    error = refused(registry, http_server, Reply(body=gz(b"a" * (LIMIT + 1)),
                                                 headers={"Content-Encoding": "gzip"}))
    assert error.code == "http_response_too_large"


def test_a_corrupt_gzip_body_is_a_final_typed_error(registry, http_server):
    # httpx.DecodingError escaped: the step crashed (tool_crashed).
    error = refused(registry, http_server, Reply(body=b"this is not gzip",
                                                 headers={"Content-Encoding": "gzip"}))
    assert error.code == "http_bad_encoding" and not error.retryable
    assert "not valid gzip data" in str(error)


def test_a_body_that_ends_inside_its_gzip_data_is_a_final_typed_error(registry, http_server):
    body = gz(bytes(range(256)) * 64)
    error = refused(registry, http_server, Reply(body=body[: len(body) // 2],
                                                 headers={"Content-Encoding": "gzip"}))
    assert error.code == "http_bad_encoding" and "ends before" in str(error)


@pytest.mark.parametrize("header", ["br", "zstd", "compress", "x-unknown"])
def test_an_encoding_it_cannot_bound_is_refused_naming_it(registry, http_server, header):
    error = refused(registry, http_server, Reply(body=b"\x0b\x02\x80hello\x03",
                                                 headers={"Content-Encoding": header}))
    assert error.code == "http_unsupported_encoding" and not error.retryable
    assert repr(header) in str(error)


def test_an_empty_body_in_any_encoding_is_fine(registry, http_server):
    http_server.script("/e", Reply(status=204, headers={"Content-Encoding": "br, gzip"}))
    assert call(registry, {"url": http_server.url("/e")})["text"] == ""


def test_it_asks_for_what_it_can_decode_unless_the_plan_asks_otherwise(registry, http_server):
    call(registry, {"url": http_server.url("/a")})
    call(registry, {"url": http_server.url("/b"), "headers": {"accept-encoding": "identity"}})
    assert http_server.requests("/a")[0].header_values("Accept-Encoding") == ["gzip, deflate"]
    assert http_server.requests("/b")[0].header_values("Accept-Encoding") == ["identity"]


def test_an_http_endpoint_tool_reads_through_the_same_bounded_decoder(http_server):
    registry = ToolRegistry()
    register_http_tool(registry, name="svc.get", url=http_server.url("/z"), method="GET",
                       description="Get.", input_schema={"type": "object", "properties": {}},
                       max_response_bytes=LIMIT)
    http_server.script("/z", Reply(body=zeros_gzipped(16), headers={"Content-Encoding": "gzip"}))
    with pytest.raises(ToolError) as caught:
        call(registry, {}, tool="svc.get")
    assert caught.value.code == "http_response_too_large"
