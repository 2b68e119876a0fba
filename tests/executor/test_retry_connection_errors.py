"""Connection errors a custom tool lets out are retryable, as timeouts are: the builtin
``ConnectionError`` family and httpx's transport errors. A refused connection surely sent
nothing; one dropped or reset may have delivered the request, so a write that neither is
idempotent nor sends the step's key is not repeated after it."""

from __future__ import annotations

import socket

import httpx
import pytest

from executor.records import RunStatus
from executor.retry import is_retryable, outcome_unknown, unsafe_repeat
from tests.executor.runsupport import (HostCheck, closed_port, make_runner, no_wait,
                                       run_failing_tool, run_plan)
from tools import Effect, RetryPolicy, ToolContext, ToolError, ToolRegistry

REQUEST = httpx.Request("POST", "http://127.0.0.1:1/x")


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(111, "Connection refused"), ConnectionResetError(104, "reset"),
    ConnectionAbortedError(), BrokenPipeError(), socket.timeout("timed out"),
    httpx.ConnectError("refused", request=REQUEST), httpx.ConnectTimeout("slow", request=REQUEST),
    httpx.ReadTimeout("slow", request=REQUEST), httpx.ReadError("reset", request=REQUEST),
    httpx.RemoteProtocolError("Server disconnected without sending a response.",
                              request=REQUEST),
    httpx.PoolTimeout("no connection", request=REQUEST)])
def test_connection_errors_are_retryable(error):
    assert is_retryable(error)


@pytest.mark.parametrize("error", [
    OSError("disk full"), FileNotFoundError("x"), ValueError("bad"),
    httpx.UnsupportedProtocol("ftp://", request=REQUEST),
    httpx.LocalProtocolError("illegal header", request=REQUEST),
    httpx.InvalidURL("bad url"), ToolError("no")])
def test_other_errors_are_not(error):
    assert not is_retryable(error)


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(111, "Connection refused"),
    httpx.ConnectError("refused", request=REQUEST), httpx.ConnectTimeout("slow", request=REQUEST),
    httpx.PoolTimeout("no connection", request=REQUEST)])
def test_a_connection_never_made_sent_nothing(error):
    assert not outcome_unknown(error)
    assert unsafe_repeat(error, tool="crm.note", effect=Effect.WRITE, idempotent=False,
                         sends_key=False) is None


@pytest.mark.parametrize("error", [
    ConnectionResetError(104, "reset"), BrokenPipeError(),
    httpx.ReadError("reset", request=REQUEST), httpx.ReadTimeout("slow", request=REQUEST),
    httpx.RemoteProtocolError("Server disconnected", request=REQUEST)])
def test_a_connection_dropped_midway_may_have_delivered_the_request(error):
    assert outcome_unknown(error)
    assert "crm.note is not idempotent" in unsafe_repeat(
        error, tool="crm.note", effect=Effect.WRITE, idempotent=False, sends_key=False)
    assert unsafe_repeat(error, tool="crm.note", effect=Effect.WRITE, idempotent=False,
                         sends_key=True) is None


def test_a_custom_tool_whose_connection_is_refused_is_retried(engine, tmp_path):
    port = closed_port()
    # The tool connects to a port nothing listens on: the refusal is what it lets out.
    record, calls = run_failing_tool(
        engine, tmp_path, lambda: socket.create_connection(("127.0.0.1", port), timeout=5))
    assert calls == [1, 2, 3]
    assert record.status is RunStatus.FAILED
    assert "ConnectionRefusedError" in (record.error or "")
    assert [a.retryable for a in record.steps[0].attempt_log] == [True, True, False]


def test_a_write_whose_connection_was_reset_is_not_repeated_blindly(engine, tmp_path):
    calls: list[int] = []
    registry = ToolRegistry()

    @registry.tool("crm.note", effect=Effect.WRITE,
                   retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.5, jitter=0))
    def note(context: ToolContext) -> str:
        """Its connection is reset after the request went out."""
        calls.append(context.attempt)
        raise ConnectionResetError(104, "Connection reset by peer")

    record = run_plan(make_runner(engine, registry, tmp_path, sleep=no_wait,
                                  runtime_check=HostCheck("")), engine,
                      {"goal": "g", "steps": [{"id": "s", "tool": "crm.note"}]})
    assert calls == [1]
    assert record.status is RunStatus.FAILED
    assert "crm.note is not idempotent" in (record.steps[0].error or "")


def test_a_connection_error_is_recorded_as_one_not_as_a_crash(engine, tmp_path):
    from executor.ledger import Ledger

    registry = ToolRegistry()

    @registry.tool("svc.fetch", retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.5, jitter=0))
    def fetch(context: ToolContext) -> str:
        """Refused, then timed out in httpx."""
        if context.attempt == 1:
            raise ConnectionRefusedError(111, "Connection refused")
        raise httpx.ReadTimeout("read timed out", request=REQUEST)

    record = run_plan(make_runner(engine, registry, tmp_path, sleep=no_wait), engine,
                      {"goal": "g", "steps": [{"id": "s", "tool": "svc.fetch"}]})
    failures = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])
    assert [(e.payload["code"], e.payload["retryable"]) for e in failures] == [
        ("connection_error", True), ("timeout", False)]
