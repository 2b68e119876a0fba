"""A custom tool's connection errors are retryable whichever client library it uses: ``requests``
(``ConnectionError``, ``Timeout``, ``ChunkedEncodingError``) and the standard library's
``urllib`` (a ``URLError`` over a connection error or a timeout, ``RemoteDisconnected``,
``IncompleteRead``), as the builtin ``ConnectionError`` and httpx's transport errors are. An
``urllib.error.HTTPError`` 429 or 5xx counts as ``http.request``'s 429 and 5xx do, its
Retry-After honoured. They used to fail their step at once as ``tool_crashed``.

``requests`` is never imported by the executor: its errors are known by their module and name
(``requests`` derives its ``ConnectionError`` from ``OSError``, and a ``FileNotFoundError`` stays
a crash).
"""

from __future__ import annotations

import email.message
import http.client
import io
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import requests

from executor.ledger import Ledger
from executor.records import RunStatus
from executor.retry import (decide, is_retryable, outcome_unknown, retry_after_refusal,
                            transient_code, unsafe_repeat)
from tests.executor.runsupport import Sleeps, closed_port, run_failing_tool
from tools import Effect, RetryPolicy

RX = requests.exceptions
URL = "http://127.0.0.1:1/x"
POLICY = RetryPolicy(max_attempts=3, initial_backoff_s=0.1, max_backoff_s=5, jitter=0.0)


def http_error(status: int, retry_after: str | None = None) -> urllib.error.HTTPError:
    headers = email.message.Message()
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return urllib.error.HTTPError(URL, status, http.client.responses.get(status, "?"), headers,
                                  io.BytesIO(b""))


def requests_http_error(status: int, retry_after: str | None = None) -> RX.HTTPError:
    """What ``raise_for_status()`` raises for a reply of ``status``."""
    response = requests.Response()
    response.status_code, response.url = status, URL
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    try:
        response.raise_for_status()
    except RX.HTTPError as error:
        return error
    raise AssertionError(f"{status} raised nothing")


class MyConnectionError(RX.ConnectionError):
    """A tool's own subclass of requests' ConnectionError."""


def _named(module: str, name: str, base: type) -> type:
    cls = type(name, (base,), {})
    cls.__module__ = module
    return cls


# Classes as a requests the executor never saw imported would make them: known by their names.
FakeRequestException = _named("requests.exceptions", "RequestException", OSError)
FakeReadTimeout = _named("requests.exceptions", "ReadTimeout",
                         _named("requests.exceptions", "Timeout", FakeRequestException))
NotRequests = _named("elsewhere.exceptions", "ConnectionError", OSError)

RETRYABLE = {
    "requests ConnectionError": lambda: RX.ConnectionError("refused"),
    "requests ConnectTimeout": lambda: RX.ConnectTimeout("slow"),
    "requests ReadTimeout": lambda: RX.ReadTimeout("slow"),
    "requests Timeout": lambda: RX.Timeout("slow"),
    "requests ChunkedEncodingError": lambda: RX.ChunkedEncodingError("cut"),
    "requests ProxyError": lambda: RX.ProxyError("proxy down"),
    "a subclass of requests ConnectionError": lambda: MyConnectionError("refused"),
    "requests-named ReadTimeout": lambda: FakeReadTimeout("slow"),
    "URLError refused": lambda: urllib.error.URLError(ConnectionRefusedError(111, "refused")),
    "URLError reset": lambda: urllib.error.URLError(ConnectionResetError(104, "reset")),
    "URLError timeout": lambda: urllib.error.URLError(TimeoutError("timed out")),
    "URLError socket.timeout": lambda: urllib.error.URLError(socket.timeout("timed out")),
    "RemoteDisconnected": lambda: http.client.RemoteDisconnected("closed without response"),
    "IncompleteRead": lambda: http.client.IncompleteRead(b"par", 10),
    "HTTPError 429": lambda: http_error(429),
    "HTTPError 500": lambda: http_error(500),
    "HTTPError 503": lambda: http_error(503),
    "requests HTTPError 429": lambda: requests_http_error(429),
    "requests HTTPError 502": lambda: requests_http_error(502),
}

NOT_RETRYABLE = {
    "FileNotFoundError": lambda: FileNotFoundError(2, "No such file", "/nope"),
    "OSError": lambda: OSError("disk full"),
    "HTTPError 404": lambda: http_error(404),
    "HTTPError 400": lambda: http_error(400),
    "requests HTTPError 404": lambda: requests_http_error(404),
    "URLError unknown url type": lambda: urllib.error.URLError("unknown url type: ftp"),
    "URLError over a FileNotFoundError": lambda: urllib.error.URLError(FileNotFoundError(2, "x")),
    "requests SSLError": lambda: RX.SSLError("certificate verify failed"),
    "requests InvalidURL": lambda: RX.InvalidURL("bad url"),
    "requests RequestException": lambda: RX.RequestException("other"),
    "requests-named RequestException": lambda: FakeRequestException("other"),
    "a ConnectionError named so elsewhere": lambda: NotRequests("refused"),
    "http.client BadStatusLine": lambda: http.client.BadStatusLine("garbage"),
}


@pytest.mark.parametrize("make", RETRYABLE.values(), ids=RETRYABLE.keys())
def test_library_connection_errors_are_retryable(make):
    assert is_retryable(make())


@pytest.mark.parametrize("make", NOT_RETRYABLE.values(), ids=NOT_RETRYABLE.keys())
def test_other_library_errors_are_not(make):
    error = make()
    assert not is_retryable(error)
    assert transient_code(error) is None
    assert decide(error, 1, POLICY, seed="s") is None


@pytest.mark.parametrize(("error", "code"), [
    (RX.ConnectionError("refused"), "connection_error"),
    (RX.ConnectTimeout("slow"), "timeout"),
    (RX.ReadTimeout("slow"), "timeout"),
    (RX.ChunkedEncodingError("cut"), "connection_error"),
    (urllib.error.URLError(ConnectionRefusedError(111, "refused")), "connection_error"),
    (urllib.error.URLError(TimeoutError("timed out")), "timeout"),
    (http.client.RemoteDisconnected("closed"), "connection_error"),
    (http.client.IncompleteRead(b"", 3), "connection_error"),
    (http_error(429), "http_429"),
    (http_error(502), "http_502"),
    (requests_http_error(429), "http_429"),
    (requests_http_error(503), "http_503")])
def test_each_is_recorded_by_what_it_was(error, code):
    assert transient_code(error) == code


@pytest.mark.parametrize("error", [
    RX.ConnectTimeout("slow"), urllib.error.URLError(ConnectionRefusedError(111, "refused")),
    http_error(429), requests_http_error(429)])
def test_a_request_surely_not_served_may_be_repeated(error):
    assert is_retryable(error)
    assert not outcome_unknown(error)
    assert unsafe_repeat(error, tool="crm.note", effect=Effect.WRITE, idempotent=False,
                         sends_key=False) is None


def _requests_error(url: str) -> Exception:
    with requests.Session() as session:
        session.trust_env = False  # no proxy from env
        try:
            session.post(url, data="note", timeout=5)
        except RX.RequestException as error:
            return error
    raise AssertionError(f"{url} answered")


def test_a_connection_requests_could_not_open_sent_nothing():
    # requests wraps urllib3's NewConnectionError (refused) in its plain ConnectionError.
    error = _requests_error(f"http://127.0.0.1:{closed_port()}/")
    assert type(error) is RX.ConnectionError
    assert not outcome_unknown(error)
    assert unsafe_repeat(error, tool="crm.note", effect=Effect.WRITE, idempotent=False,
                         sends_key=False) is None


@pytest.mark.parametrize("error", [
    RX.ConnectionError("reset"), RX.ReadTimeout("slow"), RX.ChunkedEncodingError("cut"),
    urllib.error.URLError(TimeoutError("timed out")), http.client.RemoteDisconnected("closed"),
    http.client.IncompleteRead(b"", 3), http_error(500), http_error(503),
    requests_http_error(500)])
def test_a_request_that_may_have_been_served_is_not_repeated_blindly(error):
    assert outcome_unknown(error)
    assert "crm.note is not idempotent" in unsafe_repeat(
        error, tool="crm.note", effect=Effect.WRITE, idempotent=False, sends_key=False)


def test_an_http_errors_retry_after_is_honoured():
    assert decide(http_error(503, "4"), 1, POLICY, seed="s").delay_s == 4.0
    assert decide(http_error(429, "4"), 1, POLICY, seed="s").reason.endswith(
        "(Retry-After 4s)")
    assert decide(http_error(503, "soon"), 1, POLICY, seed="s").delay_s == pytest.approx(0.1)
    assert decide(http_error(503, "60"), 1, POLICY, seed="s") is None
    assert retry_after_refusal(http_error(503, "60"), 1, POLICY) == (
        "not retried: Retry-After 60s is over max_backoff_s 5")
    assert retry_after_refusal(http_error(404, "60"), 1, POLICY) is None
    assert decide(requests_http_error(503, "4"), 1, POLICY, seed="s").delay_s == 4.0
    assert decide(requests_http_error(429, "60"), 1, POLICY, seed="s") is None


def test_requests_is_not_imported_to_tell():
    script = ("import sys, urllib.error\n"
              "from executor.retry import is_retryable\n"
              "assert not is_retryable(FileNotFoundError('x'))\n"
              "assert is_retryable(urllib.error.URLError(ConnectionRefusedError()))\n"
              "print('requests' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


# Through a real run, one of each way an error is known (a requests class, urllib's wrapper
# and its HTTPError, http.client's own); the unit tests above cover every class.
THROUGH_A_RUN = ("requests ChunkedEncodingError", "requests-named ReadTimeout",
                 "URLError socket.timeout", "IncompleteRead", "HTTPError 429",
                 "requests HTTPError 502")


@pytest.mark.parametrize("make", [RETRYABLE[name] for name in THROUGH_A_RUN], ids=THROUGH_A_RUN)
def test_a_custom_tool_letting_out_one_is_retried(engine, tmp_path, make):
    record, calls = run_failing_tool(engine, tmp_path, make)
    assert calls == [1, 2, 3]
    assert record.status is RunStatus.FAILED
    assert [a.retryable for a in record.steps[0].attempt_log] == [True, True, False]
    failures = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])
    assert all(e.payload["code"] != "tool_crashed" for e in failures)


@pytest.mark.parametrize("make", [NOT_RETRYABLE["FileNotFoundError"],
                                  NOT_RETRYABLE["HTTPError 404"]], ids=["FileNotFoundError",
                                                                       "HTTPError 404"])
def test_a_custom_tool_letting_out_a_lasting_error_is_not_retried(engine, tmp_path, make):
    record, calls = run_failing_tool(engine, tmp_path, make)
    assert calls == [1]
    assert record.status is RunStatus.FAILED
    failures = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])
    assert [(e.payload["code"], e.payload["retryable"]) for e in failures] == [
        ("tool_crashed", False)]


def test_a_custom_tools_http_error_waits_its_retry_after(engine, tmp_path):
    sleeps = Sleeps()
    record, calls = run_failing_tool(engine, tmp_path, lambda: http_error(503, "2"), sleep=sleeps)
    assert calls == [1, 2, 3] and sleeps.delays == [2.0, 2.0]
    failures = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])
    assert [e.payload["code"] for e in failures] == ["http_503"] * 3
    assert failures[0].payload["retry_in_s"] == 2.0


def test_a_tool_using_urllib_whose_connection_is_refused_is_retried(engine, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy from env

    def make():
        try:
            opener.open(url, timeout=5)
        except urllib.error.URLError as error:
            return error
        raise AssertionError("something listens on the closed port")

    record, calls = run_failing_tool(engine, tmp_path, make)
    assert calls == [1, 2, 3] and "URLError" in (record.error or "")


def test_a_tool_using_requests_whose_connection_is_refused_is_retried(engine, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/"
    record, calls = run_failing_tool(engine, tmp_path, lambda: _requests_error(url))
    assert calls == [1, 2, 3] and "ConnectionError" in (record.error or "")
