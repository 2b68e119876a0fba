"""A custom ``async def`` tool's aiohttp errors are retried as those of httpx, requests and urllib
are: its connection errors (refused, dropped, a read or connect timeout, a body cut short) and a
``ClientResponseError`` 429 or 5xx (what ``raise_for_status()`` raises), its Retry-After
honoured; not a TLS failure, an invalid URL or another 4xx. Only a connection never made (refused,
not made in time) and a 429 surely sent nothing, so only after those is a write that is not
idempotent called again. They used to fail their step at once as ``tool_crashed``.

The errors are real: a real aiohttp client against a closed port, a port whose backlog is full
and the test HTTP server on 127.0.0.1. aiohttp is never imported by the executor: its errors are
known by their module and name, as requests' are.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest

from executor.ledger import Ledger
from executor.records import RunStatus
from executor.retry import (decide, is_retryable, outcome_unknown, retry_after_refusal,
                            transient_code, unsafe_repeat)
from tests.executor.runsupport import HostCheck, Sleeps, closed_port, make_runner, run_plan
from tests.support.http_server import RecordingHTTPServer, Reply
from tools import Effect, RetryPolicy, ToolContext, ToolRegistry

POLICY = RetryPolicy(max_attempts=3, initial_backoff_s=0.1, max_backoff_s=5, jitter=0.0)
# A reply's own limit is far past the client's, and a test is never held by it: closing the
# server wakes a handler still waiting.
SLOW = Reply(delay_s=60)


async def _request(url: str, *, method: str = "GET",
                   timeout: aiohttp.ClientTimeout | None = None) -> dict[str, Any]:
    """What a custom tool does: one request, ``raise_for_status()``, the body as JSON."""
    async with aiohttp.ClientSession(timeout=timeout or aiohttp.ClientTimeout(total=30)) as session:
        body = b"note" if method == "POST" else None
        async with session.request(method, url, data=body) as reply:
            reply.raise_for_status()
            await reply.read()
            return await reply.json() if reply.content_type == "application/json" else {}


def caught(url: str, *, timeout: aiohttp.ClientTimeout | None = None) -> aiohttp.ClientError:
    """The error a real aiohttp request to ``url`` raises."""
    try:
        asyncio.run(_request(url, timeout=timeout))
    except aiohttp.ClientError as error:
        return error
    raise AssertionError(f"{url} answered")


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A port on 127.0.0.1 whose listener's backlog is full: the kernel drops further SYNs, so a
    connection to it is never made (no accept, no refusal) until the client gives up."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        fillers = [socket.create_connection(address, timeout=5)]  # the one the backlog holds
        try:
            yield address[1]
        finally:
            for filler in fillers:
                filler.close()


def _refused(server: RecordingHTTPServer) -> aiohttp.ClientError:
    return caught(f"http://127.0.0.1:{closed_port()}/")


def _not_connected_in_time(server: RecordingHTTPServer) -> aiohttp.ClientError:
    with unanswered_port() as port:
        return caught(f"http://127.0.0.1:{port}/", timeout=aiohttp.ClientTimeout(sock_connect=0.2))


def _dropped(server: RecordingHTTPServer) -> aiohttp.ClientError:
    server.script("/x", Reply(drop=True))
    return caught(server.url("/x"))


def _not_answered_in_time(server: RecordingHTTPServer) -> aiohttp.ClientError:
    server.script("/x", SLOW)
    return caught(server.url("/x"), timeout=aiohttp.ClientTimeout(sock_read=0.2))


def _body_cut_short(server: RecordingHTTPServer) -> aiohttp.ClientError:
    # Content-Length promises 100 bytes; the HTTP/1.0 server closes after 3.
    server.script("/x", Reply(body=b"abc", headers={"Content-Length": "100"}, send_length=False))
    return caught(server.url("/x"))


def _status(status: int, retry_after: str | None = None
            ) -> Callable[[RecordingHTTPServer], aiohttp.ClientError]:
    def make(server: RecordingHTTPServer) -> aiohttp.ClientError:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        server.script("/x", Reply(status=status, headers=headers))
        return caught(server.url("/x"))
    return make


def _tls_to_plain_http(server: RecordingHTTPServer) -> aiohttp.ClientError:
    return caught(server.url("/x").replace("http://", "https://"))


def _invalid_url(server: RecordingHTTPServer) -> aiohttp.ClientError:
    return caught("http://")


# name: (how the real error is made, its class, where the request got to, the code recorded)
TRANSIENT = {
    "refused": (_refused, "ClientConnectorError", "unsent", "connection_error"),
    "connect timeout": (_not_connected_in_time, "ConnectionTimeoutError", "unsent", "timeout"),
    "dropped": (_dropped, "ServerDisconnectedError", "sent", "connection_error"),
    "read timeout": (_not_answered_in_time, "SocketTimeoutError", "sent", "timeout"),
    "body cut short": (_body_cut_short, "ClientPayloadError", "sent", "connection_error"),
    "429": (_status(429), "ClientResponseError", "unsent", "http_429"),
    "500": (_status(500), "ClientResponseError", "sent", "http_500"),
    "503": (_status(503), "ClientResponseError", "sent", "http_503"),
}

LASTING = {
    "404": (_status(404), "ClientResponseError"),
    "400": (_status(400), "ClientResponseError"),
    "TLS to a plain HTTP server": (_tls_to_plain_http, "ClientConnectorSSLError"),
    "invalid URL": (_invalid_url, "InvalidUrlClientError"),
}


@pytest.mark.parametrize(("make", "cls", "where", "code"), TRANSIENT.values(), ids=TRANSIENT.keys())
def test_a_real_transient_aiohttp_error_is_retryable(http_server, make, cls, where, code):
    error = make(http_server)
    assert type(error).__name__ == cls
    assert is_retryable(error)
    assert transient_code(error) == code
    assert outcome_unknown(error) is (where == "sent")
    assert decide(error, 1, POLICY, seed="s") is not None


@pytest.mark.parametrize(("make", "cls"), LASTING.values(), ids=LASTING.keys())
def test_a_real_lasting_aiohttp_error_is_not(http_server, make, cls):
    error = make(http_server)
    assert type(error).__name__ == cls
    assert not is_retryable(error)
    assert transient_code(error) is None
    assert decide(error, 1, POLICY, seed="s") is None


def _key() -> Any:
    """The connection key aiohttp's connector errors carry (taken from a real refusal)."""
    return _refused(None).args[0]  # type: ignore[arg-type]


# The classes no local server makes aiohttp raise on demand, made as aiohttp makes them.
@pytest.mark.parametrize(("make", "where", "code"), [
    (lambda: aiohttp.ClientOSError(104, "Connection reset by peer"), "sent", "connection_error"),
    (lambda: aiohttp.ClientConnectionResetError("Connection lost"), "sent", "connection_error"),
    (lambda: aiohttp.ServerTimeoutError("Timeout on reading data from socket"), "sent",
     "timeout"),
    (lambda: aiohttp.ClientConnectorDNSError(_key(), OSError(-2, "Name or service not known")),
     "unsent", "connection_error"),
    (lambda: aiohttp.ClientProxyConnectionError(_key(), ConnectionRefusedError(111, "refused")),
     "unsent", "connection_error"),
], ids=["ClientOSError", "ClientConnectionResetError", "ServerTimeoutError",
        "ClientConnectorDNSError", "ClientProxyConnectionError"])
def test_every_connection_error_of_aiohttps_is_retryable(make, where, code):
    error = make()
    assert is_retryable(error)
    assert transient_code(error) == code
    assert outcome_unknown(error) is (where == "sent")


@pytest.mark.parametrize("make", [
    lambda: aiohttp.ClientConnectorCertificateError(
        _key(), ssl.SSLCertVerificationError(1, "certificate verify failed")),
    lambda: aiohttp.ClientSSLError(_key(), ssl.SSLError(1, "handshake failure")),
    lambda: aiohttp.ServerFingerprintMismatch(b"a" * 32, b"b" * 32, "127.0.0.1", 443),
    lambda: aiohttp.InvalidURL("http://"),
    lambda: aiohttp.ClientError("other"),
], ids=["ClientConnectorCertificateError", "ClientSSLError", "ServerFingerprintMismatch",
        "InvalidURL", "ClientError"])
def test_the_same_again_would_fail_the_same_way(make):
    error = make()
    assert not is_retryable(error)
    assert transient_code(error) is None


def test_a_reply_errors_retry_after_is_honoured(http_server):
    assert decide(_status(503, "4")(http_server), 1, POLICY, seed="s").delay_s == 4.0
    assert decide(_status(429, "4")(http_server), 1, POLICY, seed="s").reason.endswith(
        "(Retry-After 4s)")
    assert decide(_status(503, "soon")(http_server), 1, POLICY,
                  seed="s").delay_s == pytest.approx(0.1)
    too_long = _status(429, "60")(http_server)
    assert decide(too_long, 1, POLICY, seed="s") is None
    assert retry_after_refusal(too_long, 1, POLICY) == (
        "not retried: Retry-After 60s is over max_backoff_s 5")
    assert retry_after_refusal(_status(404, "60")(http_server), 1, POLICY) is None


@pytest.mark.parametrize("make", [TRANSIENT[name][0] for name in ("refused", "connect timeout",
                                                                   "429")],
                         ids=["refused", "connect timeout", "429"])
def test_a_request_surely_not_served_may_be_repeated(http_server, make):
    assert unsafe_repeat(make(http_server), tool="crm.note", effect=Effect.WRITE,
                         idempotent=False, sends_key=False) is None


@pytest.mark.parametrize("make", [TRANSIENT[name][0] for name in ("dropped", "read timeout",
                                                                   "body cut short", "503")],
                         ids=["dropped", "read timeout", "body cut short", "503"])
def test_a_request_that_may_have_been_served_is_not_repeated_blindly(http_server, make):
    assert "crm.note is not idempotent" in unsafe_repeat(
        make(http_server), tool="crm.note", effect=Effect.WRITE, idempotent=False,
        sends_key=False)


def test_aiohttp_is_not_imported_to_tell():
    script = ("import sys, urllib.error\n"
              "from executor.retry import is_retryable, outcome_unknown, transient_code\n"
              "assert not is_retryable(FileNotFoundError('x'))\n"
              "assert is_retryable(urllib.error.URLError(ConnectionRefusedError()))\n"
              "assert transient_code(ConnectionResetError()) == 'connection_error'\n"
              "assert outcome_unknown(TimeoutError())\n"
              "print('aiohttp' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


# Through a real run: an async tool that uses aiohttp, with the step's attempts calling URLs in
# turn. ``None`` is a closed port (refused).

def _run(engine, tmp_path, urls: list[str | None], *, effect: Effect = Effect.READ,
         sleeps: Sleeps | None = None):
    calls: list[int] = []
    registry = ToolRegistry()

    @registry.tool("crm.note", effect=effect,
                   retry=RetryPolicy(max_attempts=4, initial_backoff_s=0.5, jitter=0))
    async def note(context: ToolContext) -> dict:
        """Posts a note with aiohttp, letting its errors out."""
        calls.append(context.attempt)
        url = urls[context.attempt - 1] or f"http://127.0.0.1:{closed_port()}/"
        return await _request(url, method="POST")

    runner = make_runner(engine, registry, tmp_path, sleep=sleeps or Sleeps(),
                         runtime_check=HostCheck(""))
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "s", "tool": "crm.note"}]})
    failures = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])
    return record, calls, [(e.payload["code"], e.payload["retryable"]) for e in failures]


def test_an_aiohttp_tool_failing_transiently_is_retried_until_it_succeeds(engine, tmp_path,
                                                                         http_server):
    http_server.script("/note", Reply(drop=True), Reply(status=503, headers={"Retry-After": "3"}),
                       Reply(body={"ok": True}))
    sleeps = Sleeps()
    record, calls, failures = _run(engine, tmp_path, [None] + [http_server.url("/note")] * 3,
                                   sleeps=sleeps)
    assert record.status is RunStatus.SUCCEEDED
    assert calls == [1, 2, 3, 4]
    assert failures == [("connection_error", True), ("connection_error", True),
                        ("http_503", True)]
    assert sleeps.delays == [0.5, 1.0, 3.0]  # the last one is the server's Retry-After
    assert record.steps[0].output == {"value": {"ok": True}}  # a bare dict is shaped as value


def test_a_write_not_sent_is_called_again(engine, tmp_path, http_server):
    record, calls, failures = _run(engine, tmp_path, [None, http_server.url("/note")],
                                   effect=Effect.WRITE)
    assert record.status is RunStatus.SUCCEEDED
    assert calls == [1, 2] and http_server.count("/note") == 1
    assert failures == [("connection_error", True)]


def test_a_write_whose_connection_dropped_is_not_repeated_blindly(engine, tmp_path, http_server):
    http_server.script("/note", Reply(drop=True), Reply(body={"ok": True}))
    record, calls, failures = _run(engine, tmp_path, [http_server.url("/note")] * 2,
                                   effect=Effect.WRITE)
    assert record.status is RunStatus.FAILED
    assert calls == [1] and http_server.count("/note") == 1
    assert failures == [("connection_error", False)]
    assert "crm.note is not idempotent" in (record.steps[0].error or "")


@pytest.mark.parametrize("tls", [False, True], ids=["404", "TLS to a plain HTTP server"])
def test_an_aiohttp_tool_letting_out_a_lasting_error_is_not_retried(engine, tmp_path,
                                                                    http_server, tls):
    http_server.script("/note", Reply(status=404))
    url = http_server.url("/note")
    record, calls, failures = _run(engine, tmp_path,
                                   [url.replace("http://", "https://") if tls else url] * 2)
    assert record.status is RunStatus.FAILED
    assert calls == [1]
    assert failures == [("tool_crashed", False)]
