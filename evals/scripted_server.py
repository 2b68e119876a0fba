"""A real OpenAI-compatible server on 127.0.0.1 that answers from a script.

The planner evaluation replays gold and damaged plans through it (the real
``openai`` SDK and the real LLM planner, no model), and the tests use it
through the ``openai_server`` fixture of ``tests/support/openai_server.py``.
It ships in the package so that replays run from any directory.

Behaviour of ``POST /v1/chat/completions``:

- ``script(*items)`` queues items; each request consumes one, in order:
  :class:`Completion` (content, finish_reason, refusal, usage tokens),
  :class:`Failure` (HTTP status, JSON body, headers such as ``Retry-After``),
  :class:`Raw` (any body and content type: an HTML page, a JSON list) or
  a completion/failure with ``delay_s`` (the server waits first: past the
  client's timeout it looks like a slow endpoint), or a completion with
  ``trickle_s`` (its body sent in small pieces spread over that many seconds:
  each read is quick, the whole reply slow).
- ``reject_formats`` (a set of ``"json_schema"``/``"json_object"``): requests
  whose ``response_format.type`` is in it get a 400 naming ``response_format``,
  like endpoints without structured output, without consuming the script.
- When the script is empty the server answers 400 ``script exhausted`` (a
  client error, so the planner fails at once instead of retrying).
- ``requests`` holds every request body received (rejected ones included);
  ``headers`` the matching request headers.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Completion:
    """A scripted chat completion."""

    content: str | None = None
    finish_reason: str = "stop"
    refusal: str | None = None
    prompt_tokens: int = 10
    completion_tokens: int = 5
    delay_s: float = 0.0
    trickle_s: float = 0.0


@dataclass(frozen=True)
class Failure:
    """A scripted HTTP error."""

    status: int = 500
    body: dict[str, Any] = field(default_factory=lambda: {"error": {"message": "scripted"}})
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Raw:
    """A scripted reply sent as it is: a proxy's HTML page, a JSON list, a malformed completion."""

    body: str
    status: int = 200
    content_type: str = "application/json"
    delay_s: float = 0.0


Scripted = Completion | Failure | Raw


class ScriptedOpenAIServer:
    """The server, its script and its request log."""

    def __init__(self) -> None:
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self.reject_formats: set[str] = set()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give the SDK (ends in ``/v1``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *items: Scripted) -> None:
        """Queue replies, consumed one per request."""
        with self._lock:
            self._script.extend(items)

    def clear(self) -> None:
        """Drop any replies still queued."""
        with self._lock:
            self._script.clear()

    @property
    def pending(self) -> int:
        """Replies still queued."""
        return len(self._script)

    def start(self) -> ScriptedOpenAIServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def _answer(self, body: dict[str, Any], headers: dict[str, str]) -> Scripted:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            fmt = (body.get("response_format") or {}).get("type")
            if fmt in self.reject_formats:
                return Failure(status=400, body={"error": {
                    "message": f"response_format type {fmt!r} is not supported",
                    "type": "invalid_request_error", "param": "response_format"}})
            if not self._script:
                return Failure(status=400, body={"error": {"message": "script exhausted"}})
            return self._script.popleft()


def completion_body(item: Completion, model: str) -> dict[str, Any]:
    """The JSON an OpenAI endpoint returns for ``item``."""
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": item.content, "refusal": item.refusal},
            "finish_reason": item.finish_reason,
        }],
        "usage": {"prompt_tokens": item.prompt_tokens, "completion_tokens": item.completion_tokens,
                  "total_tokens": item.prompt_tokens + item.completion_tokens},
    }


_TRICKLE_PIECES = 30  # a trickled body: each gap is trickle_s / 30, well under any read timeout


def _handler_for(server: ScriptedOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if urlsplit(self.path).path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                return
            body = json.loads(raw or b"{}")
            item = server._answer(body, {k.lower(): v for k, v in self.headers.items()})
            if item.delay_s:
                time.sleep(item.delay_s)
            if isinstance(item, Raw):
                self._send_raw(item.status, item.body.encode("utf-8"), item.content_type, {})
            elif isinstance(item, Failure):
                self._send(item.status, item.body, item.headers)
            else:
                self._send(200, completion_body(item, body.get("model", "")), {}, item.trickle_s)

        def _send(self, status: int, payload: Any, headers: dict[str, str],
                  trickle_s: float = 0.0) -> None:
            self._send_raw(status, json.dumps(payload).encode("utf-8"), "application/json", headers,
                           trickle_s)

        def _send_raw(self, status: int, data: bytes, content_type: str,
                      headers: dict[str, str], trickle_s: float = 0.0) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self._write(data, trickle_s)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def _write(self, data: bytes, trickle_s: float) -> None:
            pieces = _TRICKLE_PIECES if trickle_s > 0 else 1
            size = max(1, -(-len(data) // pieces))  # an empty body: no zero step
            for start in range(0, len(data), size):
                if start:
                    time.sleep(trickle_s / pieces)
                self.wfile.write(data[start:start + size])
                self.wfile.flush()

    return Handler
