"""A run calling http.request: a 503 whose Retry-After no one can read is retried as http_503,
one asking for a wait too long for a float ends the step at once, and a body it cannot decode
fails the step once, typed, instead of crashing it."""

from __future__ import annotations

import pytest

from executor.ledger import Ledger
from executor.records import RunStatus
from tests.executor.runsupport import HostCheck, Sleeps, make_runner, run_plan
from tests.support import Reply
from tools import ToolRegistry
from tools.builtin.http import register_http_request


def _run(engine, tmp_path, http_server, *replies: Reply):
    http_server.script("/x", *replies)
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    sleeps = Sleeps()
    runner = make_runner(engine, registry, tmp_path, runtime_check=HostCheck(""), sleep=sleeps)
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "s", "tool": "http.request", "args": {"url": http_server.url("/x")}}]})
    failures = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])
    return record, failures, sleeps


@pytest.mark.parametrize("retry_after", [
    "Mon, 01 Jan 2024 00:00:00 +99999999999999",
    "Mon, 01 Jan 99999999999999999 00:00:00 GMT",
])
def test_a_503_with_a_retry_after_date_out_of_any_range_is_retried(
        engine, tmp_path, http_server, retry_after):
    # OverflowError escaped parse_retry_after: the step failed as tool_crashed, never retried.
    record, failures, sleeps = _run(
        engine, tmp_path, http_server,
        Reply(status=503, body="busy", headers={"Retry-After": retry_after}),
        Reply(body={"ok": 1}))
    assert record.status is RunStatus.SUCCEEDED, record.error
    (step,) = record.steps
    assert step.attempts == 2 and http_server.count("/x") == 2
    assert [f.payload["code"] for f in failures] == ["http_503"]
    assert len(sleeps.delays) == 1 and sleeps.delays[0] < 1  # the policy's backoff, no wait asked


@pytest.mark.parametrize("retry_after", ["9" * 400, "1e400"])
def test_a_503_asking_for_a_wait_too_long_for_a_float_ends_the_step_at_once(
        engine, tmp_path, http_server, retry_after):
    # It was read as no header at all and retried after 0.5 s.
    record, failures, sleeps = _run(
        engine, tmp_path, http_server,
        Reply(status=503, body="busy", headers={"Retry-After": retry_after}),
        Reply(body={"ok": 1}))
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.attempts == 1 and http_server.count("/x") == 1 and sleeps.delays == []
    assert "not retried: Retry-After" in step.error and "over max_backoff_s 30" in step.error
    assert failures[-1].payload["code"] == "http_503"


def test_a_corrupt_gzip_body_fails_the_step_once_typed(engine, tmp_path, http_server):
    # httpx.DecodingError escaped: tool_crashed.
    record, failures, _ = _run(
        engine, tmp_path, http_server,
        Reply(body=b"this is not gzip", headers={"Content-Encoding": "gzip"}),
        Reply(body={"ok": 1}))
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.attempts == 1 and http_server.count("/x") == 1
    assert "is not valid gzip data" in step.error
    assert failures[-1].payload["code"] == "http_bad_encoding"
    assert not failures[-1].payload["retryable"]


@pytest.mark.parametrize(("encoding", "body"), [
    ("br", b"\x0b\x02\x80busy\x03"), ("gzip", b"<html>bad gateway</html>")])
def test_a_503_whose_body_cannot_be_decoded_is_retried_after_its_retry_after(
        engine, tmp_path, http_server, encoding, body):
    # It failed the step at once as http_unsupported_encoding / http_bad_encoding.
    record, failures, sleeps = _run(
        engine, tmp_path, http_server,
        Reply(status=503, body=body, headers={"Content-Encoding": encoding, "Retry-After": "1"}),
        Reply(body={"ok": 1}))
    assert record.status is RunStatus.SUCCEEDED, record.error
    (step,) = record.steps
    assert step.attempts == 2 and http_server.count("/x") == 2
    assert [f.payload["code"] for f in failures] == ["http_503"]
    assert sleeps.delays == [1.0]
