"""A local stand-in for an OPA server: the REST routes opa-python-client uses, on 127.0.0.1.

Policies and data pushed to it are evaluated with the embedded regopy
interpreter, so the OPA backend's wire handling is exercised for real: every
pushed module takes part in every query, whichever process pushed it, as on
OPA. Policies can be listed, read and deleted (``/v1/policies``), data written,
read and deleted under any root (``/v1/data``); a data write at a path that
holds a package is refused as OPA refuses it. A GET on ``/v1/data`` that reaches
into a package evaluates its rules with no input, as OPA's Data API does. ``delay_s``
makes it slow (timeout tests); ``drop_result`` answers without a ``result``
(undefined-decision tests); ``restart`` forgets what was pushed; ``basic_auth`` (user,
password) answers 401 to a request without those credentials, as OPA behind an
authenticating proxy does; ``redirect`` (status, base URL), settable at any time, answers
every request with that status and a ``Location`` of the base URL and the request's path.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote


class FakeOpa:
    """A running fake OPA server; use as a context manager or call ``close``."""

    def __init__(self, *, delay_s: float = 0.0, drop_result: bool = False,
                 compile_check: Callable[[dict[str, str]], str | None] | None = None,
                 basic_auth: tuple[str, str] | None = None) -> None:
        self.policies: dict[str, str] = {}
        # regopy leaves a name no module defines undefined where OPA refuses to compile: a
        # test that needs OPA's refusal passes a check over the modules a PUT or DELETE would
        # leave (policy id -> source), answering the compile error or None.
        self.compile_check = compile_check
        self.data: dict[str, Any] = {}
        self.delay_s = delay_s
        self.drop_result = drop_result
        self.requests: list[tuple[str, str]] = []
        self.basic_auth = basic_auth
        self.redirect: tuple[int, str] | None = None
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

    def refusal(self, policies: dict[str, str]) -> str | None:
        """The compile error OPA would answer for holding ``policies``, per ``compile_check``."""
        return self.compile_check(dict(policies)) if self.compile_check else None

    def put_policy(self, policy_id: str, source: str) -> None:
        """Store (or replace) the module ``policy_id``."""
        with self._lock:
            self.policies[policy_id] = source

    def delete_policy(self, policy_id: str) -> bool:
        """Remove the module ``policy_id``; False when there is none."""
        with self._lock:
            return self.policies.pop(policy_id, None) is not None

    def delete_data(self, path: list[str]) -> bool:
        """Remove the data at ``path``; False when there is none."""
        with self._lock:
            target: Any = self.data
            for key in path[:-1]:
                if not isinstance(target, dict) or key not in target:
                    return False
                target = target[key]
            if not isinstance(target, dict) or path[-1] not in target:
                return False
            del target[path[-1]]
            return True

    def package_conflict(self, path: list[str]) -> str | None:
        """The package a data write at ``path`` would overlap, as OPA refuses it, or None."""
        from policies.opa_namespace import package_path

        with self._lock:
            policies = list(self.policies.items())
        for policy_id, source in policies:
            package = list(package_path(source))
            if package and package[:len(path)] == path:
                return f"{policy_id} (package {'.'.join(package)})"
        return None

    def read(self, path: list[str]) -> tuple[bool, Any]:
        """(defined, value) of a GET on ``/v1/data/<path>``: the rules of a package it reaches
        into evaluated with no input, as OPA does, or else the stored data."""
        from policies.opa_namespace import package_path

        with self._lock:
            packages = [package_path(source) for source in self.policies.values()]
        if any(list(package[:len(path)]) == path[:len(package)] for package in packages):
            return self.evaluate(path, None)
        value = self.get_data(path)
        return value is not None, value

    def authorized(self, header: str | None) -> bool:
        """Whether a request with this ``Authorization`` header gets past ``basic_auth``."""
        if self.basic_auth is None:
            return True
        user, password = self.basic_auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return header == f"Basic {token}"

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
            output = rego.query(".".join(["data", *path]))
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

        def parse_request(self) -> bool:
            # A kept-alive connection brings its next request to this same handler.
            self._raw_body: bytes | None = None
            return super().parse_request()

        def _body(self) -> bytes:
            """The request's body, read once (``_intercepted`` reads it first)."""
            if self._raw_body is None:
                self._raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return self._raw_body

        def _intercepted(self) -> bool:
            """Answer a request lacking the credentials, or any while redirecting; True if so."""
            self._body()  # read, so that the answer does not meet a half-sent request
            if not fake.authorized(self.headers.get("Authorization")):
                self._send(401, {"code": "unauthorized", "message": "missing credentials"})
                return True
            if fake.redirect is not None:
                status, base = fake.redirect
                self.send_response(status)
                self.send_header("Location", base.rstrip("/") + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            return False

        def _path(self, prefix: str) -> list[str]:
            rest = self.path.split("?", 1)[0][len(prefix):].strip("/")
            return [unquote(p) for p in rest.split("/") if p]

        def _policy_id(self) -> str:
            return unquote(self.path.split("?", 1)[0][len("/v1/policies/"):])

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            fake.requests.append(("GET", self.path))
            if self._intercepted():
                return None
            if self.path.startswith("/v1/policies/") and self._policy_id():
                policy_id = self._policy_id()
                if policy_id not in fake.policies:
                    return self._send(404, {"code": "resource_not_found", "message": policy_id})
                return self._send(200, {"result": {"id": policy_id,
                                                   "raw": fake.policies[policy_id]}})
            if self.path.startswith("/v1/policies"):
                items = [{"id": k, "raw": v} for k, v in list(fake.policies.items())]
                return self._send(200, {"result": items})
            if self.path.startswith("/v1/data"):
                try:
                    defined, value = fake.read(self._path("/v1/data"))
                except RuntimeError as exc:
                    return self._send(500, {"code": "internal_error", "message": str(exc)})
                return self._send(200, {"result": value} if defined else {})
            return self._send(404, {"code": "not_found", "message": self.path})

        def do_PUT(self) -> None:  # noqa: N802
            fake.requests.append(("PUT", self.path))
            if self._intercepted():
                return None
            body = self._body()
            if self.path.startswith("/v1/policies/"):
                policy_id, source = self._policy_id(), body.decode("utf-8")
                error = fake.refusal({**fake.policies, policy_id: source})
                if error:
                    return self._send(400, {"code": "invalid_parameter", "message": error})
                fake.put_policy(policy_id, source)
                return self._send(200, {})
            if self.path.startswith("/v1/data/"):
                conflict = fake.package_conflict(self._path("/v1/data"))
                if conflict:
                    return self._send(400, {"code": "invalid_parameter",
                                            "message": f"path conflicts with {conflict}"})
                fake.put_data(self._path("/v1/data"), json.loads(body or b"{}"))
                self.send_response(204)
                self.end_headers()
                return None
            return self._send(404, {"code": "not_found", "message": self.path})

        def do_DELETE(self) -> None:  # noqa: N802
            fake.requests.append(("DELETE", self.path))
            if self._intercepted():
                return None
            if self.path.startswith("/v1/policies/"):
                left = {k: v for k, v in fake.policies.items() if k != self._policy_id()}
                error = fake.refusal(left)
                if error:
                    return self._send(400, {"code": "invalid_operation", "message": error})
                if not fake.delete_policy(self._policy_id()):
                    return self._send(404, {"code": "resource_not_found", "message": self.path})
                return self._send(200, {})
            if self.path.startswith("/v1/data/") and self._path("/v1/data"):
                if not fake.delete_data(self._path("/v1/data")):
                    return self._send(404, {"code": "resource_not_found", "message": self.path})
                self.send_response(204)
                self.end_headers()
                return None
            return self._send(404, {"code": "not_found", "message": self.path})

        def do_POST(self) -> None:  # noqa: N802
            fake.requests.append(("POST", self.path))
            if self._intercepted():
                return None
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
