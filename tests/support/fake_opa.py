"""A local stand-in for an OPA server: the REST routes opa-python-client uses, on 127.0.0.1.

Policies and data pushed to it are evaluated with the embedded regopy
interpreter, so the OPA backend's wire handling is exercised for real.
``delay_s`` makes it slow (timeout tests); ``drop_result`` answers without a
``result`` (undefined-decision tests); ``restart`` forgets what was pushed.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpa:
    """A running fake OPA server; use as a context manager or call ``close``."""

    def __init__(self, *, delay_s: float = 0.0, drop_result: bool = False) -> None:
        self.policies: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.delay_s = delay_s
        self.drop_result = drop_result
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpa:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def restart(self) -> None:
        """Forget every pushed policy and datum, as a restarted OPA server without a bundle does."""
        with self._lock:
            self.policies.clear()
            self.data.clear()

    def put_data(self, path: list[str], value: Any) -> None:
        """Store ``value`` at ``path`` of the data tree."""
        with self._lock:
            target = self.data
            for key in path[:-1]:
                target = target.setdefault(key, {})
            target[path[-1]] = value

    def get_data(self, path: list[str]) -> Any:
        """The stored data at ``path`` (no policy evaluation), or ``None``."""
        value: Any = self.data
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    def evaluate(self, path: list[str], policy_input: Any) -> tuple[bool, Any]:
        """(defined, value) of ``data.<path>`` with the stored policies and data."""
        from regopy import Input, Interpreter

        with self._lock:
            rego = Interpreter()
            rego.strict_built_in_errors = True
            for name, source in sorted(self.policies.items()):
                rego.add_module(name, source)
            rego.add_data_json(json.dumps(self.data))
            if policy_input is not None:
                rego.set_input(Input(policy_input))
            output = rego.query("data." + ".".join(path))
            if not output.ok():
                raise RuntimeError(f"evaluation failed: {output}")
            results = output.results
        if not results or not results[0].expressions:
            return False, None
        return True, results[0].expressions[0]


def _handler_for(fake: FakeOpa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            return

        def _send(self, status: int, body: Any | None) -> None:
            raw = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _path(self, prefix: str) -> list[str]:
            rest = self.path.split("?", 1)[0][len(prefix):].strip("/")
            return [p for p in rest.split("/") if p]

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            fake.requests.append(("GET", self.path))
            if self.path.startswith("/v1/policies"):
                items = [{"id": k, "raw": v} for k, v in fake.policies.items()]
                return self._send(200, {"result": items})
            if self.path.startswith("/v1/data"):
                value = fake.get_data(self._path("/v1/data"))
                return self._send(200, {} if value is None else {"result": value})
            return self._send(404, {"code": "not_found", "message": self.path})

        def do_PUT(self) -> None:  # noqa: N802
            fake.requests.append(("PUT", self.path))
            body = self._body()
            if self.path.startswith("/v1/policies/"):
                policy_id = self.path[len("/v1/policies/"):]
                fake.policies[policy_id] = body.decode("utf-8")
                return self._send(200, {})
            if self.path.startswith("/v1/data/"):
                fake.put_data(self._path("/v1/data"), json.loads(body or b"{}"))
                self.send_response(204)
                self.end_headers()
                return None
            return self._send(404, {"code": "not_found", "message": self.path})

        def do_POST(self) -> None:  # noqa: N802
            fake.requests.append(("POST", self.path))
            payload = json.loads(self._body() or b"{}")
            if fake.delay_s:
                time.sleep(fake.delay_s)
            if not self.path.startswith("/v1/data/"):
                return self._send(404, {"code": "not_found", "message": self.path})
            try:
                defined, value = fake.evaluate(self._path("/v1/data"), payload.get("input"))
            except RuntimeError as exc:
                return self._send(500, {"code": "internal_error", "message": str(exc)})
            if not defined or fake.drop_result:
                return self._send(200, {})
            return self._send(200, {"result": value})

    return Handler
