"""An HTTP status line's reason phrase is the server's text, masked as its body excerpt is.

A server answering ``HTTP/1.1 404 no such page /p?api_key=k3y`` put the short URL secret in the
step's error (and so the ledger), unmasked; one echoing the Authorization header in its reason
put a header secret there. Only the body excerpt was masked.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tools import ToolContext, ToolError, ToolRegistry
from tools.builtin import register_builtin_tools
from tools.builtin.http import EXCERPT_CHARS, status_error
from tools.http_endpoint import register_http_tool
from tools.redaction import CUT_MARK

TOKEN = "Bearer-sekrit-1234567890"


class RawServer:
    """Answers each connection with the bytes ``reply(request_target, headers)`` gives."""

    def __init__(self, reply: Callable[[str, dict[str, str]], bytes]) -> None:
        self._reply = reply
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                lines = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1]
                headers = {k.strip().lower(): v.strip()
                           for k, _, v in (line.partition(":") for line in lines[1:])}
                conn.sendall(self._reply(target, headers))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


def _echoing(target: str, headers: dict[str, str]) -> bytes:
    status = {"/p": b"404", "/auth": b"500", "/long": b"503"}[target.partition("?")[0]]
    echoed = (headers.get("authorization", "") if target == "/auth" else target).encode("latin-1")
    if target.startswith("/long"):
        echoed = b"x" * 1000 + b" " + headers.get("authorization", "").encode("latin-1")
    return b"HTTP/1.1 " + status + b" no such page " + echoed + b"\r\nContent-Length: 0\r\n\r\n"


@pytest.fixture
def server() -> Iterator[RawServer]:
    raw = RawServer(_echoing)
    try:
        yield raw
    finally:
        raw.close()


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path / "ws")
    return registry


def _fail(registry: ToolRegistry, name: str, args: dict, secrets: dict | None = None) -> ToolError:
    context = ToolContext(idempotency_key="k", secrets=secrets or {})
    with pytest.raises(ToolError) as caught:
        asyncio.run(registry.get(name).invoke(args, context))
    return caught.value


def test_a_short_url_secret_echoed_in_the_reason_phrase_is_masked(registry, server):
    register_http_tool(registry, name="crm.page", url=server.url("/p?api_key=k3y&id=7"),
                       method="GET", description="x")
    error = _fail(registry, "crm.page", {})
    assert error.code == "http_404"
    assert "k3y" not in error.message
    assert "no such page /p?api_key=" in error.message


def test_a_header_secret_echoed_in_the_reason_phrase_is_masked(registry, server):
    error = _fail(registry, "http.request",
                  {"url": server.url("/auth"), "headers": {"Authorization": "${secret:TOK}"}},
                  {"TOK": TOKEN})
    assert error.code == "http_500" and error.retryable
    assert "sekrit" not in error.message and "HTTP 500 no such page" in error.message


def test_a_latin1_secret_echoed_in_the_reason_phrase_is_masked_whole(registry, server):
    # httpx's reason_phrase drops every byte past ASCII: "psswrd123" matched no mask.
    error = _fail(registry, "http.request",
                  {"url": server.url("/auth"), "headers": {"Authorization": "${secret:TOK}"}},
                  {"TOK": "pässwörd123"})
    assert error.code == "http_500"
    assert "rd123" not in error.message and "[REDACTED]" in error.message


def test_a_long_reason_phrase_is_cut_after_masking(registry, server):
    error = _fail(registry, "http.request",
                  {"url": server.url("/long"), "headers": {"Authorization": "${secret:TOK}"}},
                  {"TOK": TOKEN})
    assert error.code == "http_503" and error.retryable
    assert "sekrit" not in error.message and "xxxx" + CUT_MARK in error.message
    assert len(error.message) < 1000


def test_status_error_masks_and_cuts_the_reason_as_it_does_the_body():
    reason = "E" * 100 + f" {TOKEN}\n" + "F" * EXCERPT_CHARS
    error = status_error(500, reason, "http://x/", "", None, [TOKEN])
    assert error is not None and TOKEN[:4] not in error.message
    assert error.message.startswith("HTTP 500 " + "E" * 100 + " [REDACTED] F")
    assert error.message.endswith("F" + CUT_MARK + " from http://x/")
    short = status_error(404, "Not Found", "http://x/", "", None, [])
    assert short is not None and short.message == "HTTP 404 Not Found from http://x/"
