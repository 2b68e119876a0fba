"""The OPA backend's timeout bounds a whole answer, and its URL is honoured whole.

requests' timeout bounds each read only: a server that sent its headers, then its body a
byte at a time, was waited on for minutes and its verdict accepted. An IPv6 literal
(``http://[::1]:8181``) made an invalid URL, and a path prefix (an OPA behind a gateway at
``/opa-gateway/``) was dropped, so the queries went to the server's root.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa, _handler_for
from tests.support.policy_tools import policy_registry

SAFE_PLAN = Plan.model_validate({"goal": "list the files", "steps": [
    {"id": "ls", "tool": "files.list", "args": {}}]})
SAFE_INPUT = build_policy_input(SAFE_PLAN, policy_registry(),
                                requester=Requester(id="alice", roles=("analyst",)),
                                context=PolicyContext(now=datetime(2024, 6, 4, 10, tzinfo=UTC)))
PREFIX = "/opa-gateway"


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> Iterator[str]:
    """The base URL of a server on ``host`` with ``handler`` (the fake's state behind it)."""
    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    server = server_class((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeOpa]:
    """The fake's state (policies, data, evaluation); the tests serve it their own way."""
    with FakeOpa() as state:
        yield state


def _trickling(fake: FakeOpa, byte_every_s: float) -> type[BaseHTTPRequestHandler]:
    """The fake, answering queries (POST) with their headers at once, then a byte at a time."""
    class Trickling(_handler_for(fake)):  # type: ignore[misc, valid-type]
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: Any | None) -> None:
            if self.command != "POST":
                return super()._send(status, body)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.flush()
            try:
                for byte in raw:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(byte_every_s)
            except OSError:  # the client gave up: the point of the test
                self.close_connection = True
            return None

    return Trickling


def _behind_prefix(fake: FakeOpa) -> type[BaseHTTPRequestHandler]:
    """The fake behind a gateway that serves it at PREFIX only (and notes each path asked)."""
    class Prefixed(_handler_for(fake)):  # type: ignore[misc, valid-type]
        def parse_request(self) -> bool:
            if not super().parse_request():
                return False
            fake.requests.append(("SEEN", self.path))
            if not self.path.startswith(PREFIX + "/"):
                self.send_error(404, "not behind the gateway")
                return False
            self.path = self.path[len(PREFIX):]
            return True

    return Prefixed


def test_an_answer_trickled_past_the_timeout_is_a_deny_naming_it(fake, bundle):
    # Each byte comes well within the per-read timeout; the whole answer takes seconds.
    with _serving(_trickling(fake, byte_every_s=0.05)) as url:
        decision = OpaEngine(bundle, url, timeout_s=1.0).decide(SAFE_INPUT)
    assert not decision.allow
    assert any("did not answer in time" in d and "within 1 s" in d for d in decision.deny), \
        decision.deny
    # The connection is shut down, so the thread that was reading it ends too.
    for _ in range(100):
        if not any(t.name == "opa-request" for t in threading.enumerate()):
            break
        time.sleep(0.1)
    assert not any(t.name == "opa-request" for t in threading.enumerate())


def test_an_answer_within_the_timeout_is_taken(fake, bundle):
    with _serving(_trickling(fake, byte_every_s=0.0)) as url:
        decision = OpaEngine(bundle, url, timeout_s=30.0).decide(SAFE_INPUT)
    assert decision.allow, decision.deny


def test_an_ipv6_literal_host_is_reached(bundle):
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with FakeOpa() as state, _serving(_handler_for(state), host="::1") as url:
        decision = OpaEngine(bundle, url, timeout_s=30.0).decide(SAFE_INPUT)
    assert decision.allow, decision.deny


def test_a_path_prefix_in_the_url_is_kept(fake, bundle):
    with _serving(_behind_prefix(fake)) as url:
        decision = OpaEngine(bundle, f"{url}{PREFIX}/", timeout_s=30.0).decide(SAFE_INPUT)
    assert decision.allow, decision.deny
    seen = [path for kind, path in fake.requests if kind == "SEEN"]
    assert seen and all(path.startswith(f"{PREFIX}/v1/") for path in seen)



def test_a_url_with_a_query_or_fragment_is_refused_not_cut(bundle):
    for url in ("http://127.0.0.1:8181/?tenant=a", "http://127.0.0.1:8181/#x"):
        decision = OpaEngine(bundle, url, timeout_s=1.0).decide(SAFE_INPUT)
        assert not decision.allow
        assert any("must look like" in d for d in decision.deny), decision.deny
