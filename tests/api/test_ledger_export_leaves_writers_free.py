"""GET /ledger/export read slowly, or given up on, keeps no other connection from appending.

The client's receive buffer is made small and the ledger larger than what the sockets hold,
so the server's export stands paused mid-ledger while the client does not read. The second
connection waits for no lock (SQLite busy timeout 0): its append succeeds only if the
paused export holds none.
"""

from __future__ import annotations

import json
import socket

import pytest

from executor.ledger import Ledger
from tests.executor.test_ledger_reads_leave_writers_free import _impatient_engine

from .live import serve, token_of

EVENTS = 24
PAYLOAD_CHARS = 500_000  # 24 events of 500 kB: well past the sockets' buffers


@pytest.fixture
def live_url(store_services):
    """The URL of a server on ``store_services`` (SQLite, then PostgreSQL)."""
    live = serve(store_services, max_body_bytes=64 * 1024)
    try:
        yield live.url
    finally:
        live.stop()


def _fill(services) -> None:
    for n in range(EVENTS):
        services.ledger.append("goal", f"p-{n}", "alice", {"goal": f"{n}:" + "x" * PAYLOAD_CHARS})


def _open_export(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: no autotuning
    sock.settimeout(60)
    sock.connect((host, int(port)))
    sock.sendall(b"GET /api/v1/ledger/export HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                 b"Authorization: Bearer " + token_of("dave").encode() + b"\r\n\r\n")
    assert sock.recv(64).startswith(b"HTTP/1.1 200")
    return sock


def _append_without_waiting(db_url: str) -> None:
    engine = _impatient_engine(db_url)
    try:
        Ledger(engine).append("goal", "other", "alice", {"while": "exporting"})
    finally:
        engine.dispose()


def _rest_of(sock: socket.socket) -> bytes:
    parts = []
    while chunk := sock.recv(1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def _unchunked(body: bytes) -> bytes:
    """The body of an HTTP/1.1 chunked answer (``body`` starts at the first chunk's size)."""
    out, at = [], 0
    while True:
        end = body.index(b"\r\n", at)
        size = int(body[at:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2:end + 2 + size])
        at = end + 2 + size + 2


def test_an_export_read_slowly_lets_another_connection_append(store_services, live_url, db_url):
    _fill(store_services)
    sock = _open_export(live_url)
    try:
        _append_without_waiting(db_url)  # the export is paused: the client reads nothing
        answer = sock.recv(64) + _rest_of(sock)
    finally:
        sock.close()
    body = _unchunked(answer[answer.index(b"\r\n\r\n") + 4:])
    records = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert [r["seq"] for r in records] == list(range(1, EVENTS + 1))  # the head when it began
    assert store_services.ledger.head()[0] == EVENTS + 1


def test_an_export_given_up_on_lets_another_connection_append(store_services, live_url, db_url):
    _fill(store_services)
    sock = _open_export(live_url)
    sock.close()  # the client goes away mid-export
    _append_without_waiting(db_url)
    assert store_services.ledger.head()[0] == EVENTS + 1
    assert Ledger(store_services.engine).verify().ok
