"""A real HTTP server on 127.0.0.1 for tests: scripted replies, a request log, idempotent effects.

Use the ``http_server`` fixture (exposed by ``tests/conftest.py``)::

    def test_retry_posts_once(http_server):
        http_server.script("/hook", Reply(status=503), Reply(status=200, body={"ok": True}))
        ...  # call http_server.url("/hook") twice with the same Idempotency-Key
        assert http_server.count("/hook") == 2          # requests received
        assert len(http_server.effects("/hook")) == 1   # side effects applied

Behaviour, per path (query string ignored):

- ``script(path, *replies)`` queues replies; each is used once, in order, and
  the last one repeats. Unscripted paths answer ``200 {"ok": true}``.
- A :class:`Reply` sets status, headers, body (``bytes``/``str``, or any other
  value sent as JSON), ``delay_s`` before answering, ``drop`` (close the
  connection without answering), ``send_length`` (omit Content-Length so the
  body runs until the connection closes) and ``applies`` (whether a request
  answered by it counts as a side effect; defaults to True for 2xx).
- Idempotency: the first request with a given ``Idempotency-Key`` on a path
  whose reply ``applies`` is recorded as an *effect*, and its reply is
  stored; later requests with that key get the stored reply again (with
  ``Idempotent-Replayed: true``) without consuming the script or adding an
  effect — like a payment API. A dropped reply that ``applies`` still records
  its effect: the server did the work, the client never heard back.
- ``requests(path)`` lists every request received (dropped ones included),
  ``count(path)`` counts them, ``effects(path)`` lists the effect requests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False
    send_length: bool = True
    applies: bool | None = None

    @property
    def counts_as_effect(self) -> bool:
        """Whether a request answered by this reply changes the server's state."""
        return self.applies if self.applies is not None else 200 <= self.status < 300

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """The body bytes and headers to send."""
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            data = self.body
        elif isinstance(self.body, str):
            data = self.body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            data = json.dumps(self.body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        return data, headers


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    raw_headers: tuple[tuple[str, str], ...] = ()

    def header_values(self, name: str) -> list[str]:
        """Every value sent for header ``name`` (case-insensitive), in order."""
        return [v for k, v in self.raw_headers if k.lower() == name.lower()]

    @property
    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` header, if sent."""
        return self.headers.get("idempotency-key")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


DEFAULT_REPLY = Reply(body={"ok": True})


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose in timeout tests; the request log is the record


class RecordingHTTPServer:
    """A threaded HTTP/1.0 server on 127.0.0.1 with scripted replies; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._scripts: dict[str, list[Reply]] = {}
        self._requests: list[RecordedRequest] = []
        self._effects: list[RecordedRequest] = []
        self._replayed: dict[tuple[str, str], Reply] = {}
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll keeps shutdown (every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> RecordingHTTPServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; wakes handlers that are still delaying."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, path: str, *replies: Reply) -> None:
        """Queue ``replies`` for ``path``; each is used once, the last one repeats."""
        with self._lock:
            self._scripts[path] = list(replies)

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        """Requests received, optionally for one path, in arrival order."""
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def count(self, path: str | None = None) -> int:
        """How many requests arrived (for ``path``)."""
        return len(self.requests(path))

    def effects(self, path: str | None = None) -> list[RecordedRequest]:
        """Requests that changed the server's state: one per idempotency key."""
        with self._lock:
            return [r for r in self._effects if path is None or r.path == path]

    def reset(self) -> None:
        """Forget scripts, requests, effects and stored replies."""
        with self._lock:
            self._scripts.clear()
            self._requests.clear()
            self._effects.clear()
            self._replayed.clear()

    def _reply_for(self, request: RecordedRequest) -> tuple[Reply, bool]:
        """Record ``request`` and choose its reply; True when it is a replay."""
        with self._lock:
            self._requests.append(request)
            key = request.idempotency_key
            if key is not None and (request.path, key) in self._replayed:
                return self._replayed[(request.path, key)], True
            queue = self._scripts.get(request.path)
            reply = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else DEFAULT_REPLY
            if reply.counts_as_effect:
                self._effects.append(request)
                if key is not None:
                    self._replayed[(request.path, key)] = reply
            return reply, False


def _handler_for(server: RecordingHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = RecordedRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
                raw_headers=tuple(self.headers.items()),
            )
            reply, replayed = server._reply_for(request)
            if reply.delay_s and server._stopping.wait(reply.delay_s):
                return
            if reply.drop and not replayed:
                self.close_connection = True
                return
            data, headers = reply.encoded()
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            if reply.send_length:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # keep test output clean; the request log is the record

    return Handler


@pytest.fixture
def http_server() -> Iterator[RecordingHTTPServer]:
    """A started :class:`RecordingHTTPServer`, closed after the test."""
    server = RecordingHTTPServer().start()
    try:
        yield server
    finally:
        server.close()
