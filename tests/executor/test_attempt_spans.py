"""The attempt spans the run loop opens: under the run span, with the ids, errors and timeouts
recorded, and the parent of any span the tool itself opens. Real plans run through a
:class:`Runner` with an in-memory OpenTelemetry exporter (the ``exporter`` fixture)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from executor import telemetry
from executor.calls import begin_call, call_tool
from executor.records import RunStatus
from executor.scheduling import StepStatus
from executor.telemetry import end_span, start_span
from tools import RetryableToolError, RetryPolicy, ToolContext, ToolRegistry

from tests.executor.runsupport import Sleeps, make_runner, run_plan

CONTEXT = ToolContext(idempotency_key="k-1", run_id="r-1", step_id="s-1", attempt=1)
KINDS = ("sync", "async")


def run(coro):
    return asyncio.run(coro)


def by_name(spans, name: str) -> list[Any]:
    return [s for s in spans if s.name == name]


def parent_id(finished) -> int | None:
    return None if finished.parent is None else finished.parent.span_id


def traced_registry() -> tuple[ToolRegistry, dict[str, int]]:
    """``noop`` (sync), ``noop_async``, ``flaky`` (fails once, retryable) and ``boom`` (never works).

    Each opens a span of its own, ``tool.work``, so that its parent can be checked.
    """
    registry = ToolRegistry()
    calls = {"flaky": 0}

    @registry.tool("noop", idempotent=True)
    def noop(n: int) -> dict[str, int]:
        """Return ``n`` unchanged, in a span of its own.

        Args:
            n: Any number.
        """
        with telemetry.span("tool.work", tool="noop"):
            return {"n": n}

    @registry.tool("noop_async", idempotent=True)
    async def noop_async(n: int) -> dict[str, int]:
        """Return ``n`` unchanged, in a span of its own (async).

        Args:
            n: Any number.
        """
        with telemetry.span("tool.work", tool="noop_async"):
            await asyncio.sleep(0)
            return {"n": n}

    @registry.tool("flaky", idempotent=True,
                   retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.25, jitter=0.0))
    async def flaky(n: int) -> dict[str, int]:
        """Fail the first call with a retryable error, then return ``n``.

        Args:
            n: Any number.
        """
        with telemetry.span("tool.work", tool="flaky"):
            calls["flaky"] += 1
            if calls["flaky"] == 1:
                raise RetryableToolError("flaky: not yet")
            return {"n": n}

    @registry.tool("boom", retry=RetryPolicy(max_attempts=3))
    def boom(n: int) -> dict[str, int]:
        """Always fail with an error that is not retryable.

        Args:
            n: Any number.
        """
        raise ValueError(f"boom {n}")

    return registry, calls


def test_each_attempt_of_a_run_has_a_span_under_the_run_span(engine, tmp_path, exporter):
    registry, calls = traced_registry()
    sleeps = Sleeps()
    runner = make_runner(engine, registry, tmp_path, sleep=sleeps)
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "first", "tool": "noop_async", "args": {"n": 1}},
        {"id": "second", "tool": "noop", "args": {"n": {"ref": "first.value.n"}}},
        {"id": "third", "tool": "flaky", "args": {"n": 3}, "depends_on": ["second"]},
    ]})
    assert record.status is RunStatus.SUCCEEDED, record.error
    assert calls["flaky"] == 2 and sleeps.delays == [0.25]

    finished = exporter.get_finished_spans()
    (run_span,) = by_name(finished, "baton.run")
    attempts = by_name(finished, "baton.attempt")
    seen = sorted((s.attributes["baton.step_id"], s.attributes["baton.attempt"]) for s in attempts)
    assert seen == [("first", 1), ("second", 1), ("third", 1), ("third", 2)]
    tools = {"first": "noop_async", "second": "noop", "third": "flaky"}
    for attempt in attempts:
        step_id = attempt.attributes["baton.step_id"]
        assert dict(attempt.attributes) == {
            "baton.run_id": record.id, "baton.step_id": step_id,
            "baton.attempt": attempt.attributes["baton.attempt"], "baton.tool": tools[step_id]}
        assert attempt.context.trace_id == run_span.context.trace_id
        assert parent_id(attempt) == run_span.context.span_id
        assert attempt.start_time >= run_span.start_time and attempt.end_time <= run_span.end_time

    # Every tool's own span sits under the attempt that called it (the retry's too).
    from opentelemetry.trace import StatusCode

    work = by_name(finished, "tool.work")
    assert len(work) == 4
    by_span_id = {a.context.span_id: a for a in attempts}
    owners = sorted((by_span_id[parent_id(w)].attributes["baton.step_id"],
                     by_span_id[parent_id(w)].attributes["baton.attempt"]) for w in work)
    assert owners == seen
    statuses = {(a.attributes["baton.step_id"], a.attributes["baton.attempt"]): a.status.status_code
                for a in attempts}
    assert statuses[("third", 1)] is StatusCode.ERROR
    assert [v for k, v in statuses.items() if k != ("third", 1)] == [StatusCode.UNSET] * 3


def test_a_failing_attempt_span_has_error_status_and_the_exception(engine, tmp_path, exporter):
    from opentelemetry.trace import StatusCode

    registry, _ = traced_registry()
    record = run_plan(make_runner(engine, registry, tmp_path, sleep=Sleeps()), engine, {
        "goal": "g", "steps": [
            {"id": "ok", "tool": "noop", "args": {"n": 1}},
            {"id": "bad", "tool": "boom", "args": {"n": 7}, "depends_on": ["ok"]},
            {"id": "never", "tool": "noop", "args": {"n": 2}, "depends_on": ["bad"]},
        ]})
    assert record.status is RunStatus.FAILED and "boom 7" in record.error
    assert [s.status for s in record.steps] == [StepStatus.SUCCEEDED, StepStatus.FAILED,
                                                StepStatus.PENDING]

    finished = exporter.get_finished_spans()
    (run_span,) = by_name(finished, "baton.run")
    attempts = {s.attributes["baton.step_id"]: s for s in by_name(finished, "baton.attempt")}
    assert sorted(attempts) == ["bad", "ok"]  # one attempt: ValueError is not retried
    bad = attempts["bad"]
    assert parent_id(bad) == run_span.context.span_id
    assert bad.attributes["baton.attempt"] == 1 and bad.attributes["baton.tool"] == "boom"
    assert bad.status.status_code is StatusCode.ERROR and "boom 7" in bad.status.description
    (event,) = bad.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "boom 7"
    assert attempts["ok"].status.status_code is StatusCode.UNSET and not attempts["ok"].events


def test_a_secret_named_by_a_failing_tool_or_its_cause_is_masked_on_the_attempt_span(
        engine, tmp_path, exporter):
    secret = "tok-span-0042"
    registry = ToolRegistry()

    @registry.tool("leak")
    def leak() -> int:
        """Fails naming the secret, from a cause that names it too."""
        try:
            raise OSError(f"cannot connect with {secret}")
        except OSError as exc:
            raise ValueError(f"bad token {secret}") from exc

    record = run_plan(make_runner(engine, registry, tmp_path, secrets={"TOKEN": secret}), engine,
                      {"goal": "g", "steps": [{"id": "a", "tool": "leak"}]})
    assert record.status is RunStatus.FAILED
    (attempt,) = by_name(exporter.get_finished_spans(), "baton.attempt")
    assert attempt.status.description == "bad token [REDACTED]"
    (event,) = attempt.events
    assert event.name == "exception" and event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "bad token [REDACTED]"
    assert "OSError: cannot connect with [REDACTED]" in event.attributes["exception.stacktrace"]
    assert all(secret not in str(value) for value in event.attributes.values())


def test_a_timed_out_attempt_span_ends_with_the_timeout(engine, tmp_path, exporter):
    from opentelemetry.trace import StatusCode

    registry = ToolRegistry()
    release = threading.Event()

    @registry.tool("stuck", timeout_s=0.1, retry=RetryPolicy(max_attempts=1))
    def stuck() -> str:
        """Block in its thread until the test lets it go."""
        release.wait(2)
        return "late"

    try:
        started = time.monotonic()
        record = run_plan(make_runner(engine, registry, tmp_path), engine, {
            "goal": "g", "steps": [{"id": "s", "tool": "stuck"}]})
        took = time.monotonic() - started
    finally:
        release.set()
    assert record.status is RunStatus.FAILED and "timed out after 0.1s" in record.error
    assert took < 1.5
    (attempt,) = by_name(exporter.get_finished_spans(), "baton.attempt")
    assert attempt.status.status_code is StatusCode.ERROR
    assert [e.attributes["exception.type"] for e in attempt.events] == ["TimeoutError"]


def span_opening_registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("inner.sync")
    def inner_sync() -> str:
        """Open a span in the tool's thread."""
        with telemetry.span("tool.inner", kind="sync"):
            return threading.current_thread().name

    @registry.tool("inner.async")
    async def inner_async() -> str:
        """Open a span in the tool's task."""
        await asyncio.sleep(0)
        with telemetry.span("tool.inner", kind="async"):
            return threading.current_thread().name

    return registry


@pytest.mark.parametrize("kind", KINDS)
def test_the_span_given_to_begin_call_is_the_parent_of_spans_the_tool_opens(exporter, kind):
    from opentelemetry import trace

    spec = span_opening_registry().get(f"inner.{kind}")

    async def main():
        outer = start_span("baton.attempt", step_id="s", tool=spec.name)
        before = trace.get_current_span()
        call = begin_call(spec, {}, CONTEXT, timeout_s=5, span=outer)
        # run_in_span made it current only while the task / thread job was created.
        assert trace.get_current_span() is before
        assert call.span is outer
        loop = asyncio.get_running_loop()
        while not call.ready(loop.time()):
            await asyncio.wait({call.future}, timeout=1)
        outcome = call.outcome()
        end_span(outer, outcome.error)
        return outcome

    outcome = run(main())
    assert outcome.error is None
    assert (outcome.output["value"] == "baton-tool") is (kind == "sync")
    finished = exporter.get_finished_spans()
    (outer,) = by_name(finished, "baton.attempt")
    (inner,) = by_name(finished, "tool.inner")
    assert inner.attributes["baton.kind"] == kind
    assert inner.context.trace_id == outer.context.trace_id
    assert parent_id(inner) == outer.context.span_id


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_span_the_tool_opens_a_root_span(exporter, kind):
    spec = span_opening_registry().get(f"inner.{kind}")
    outcome = run(call_tool(spec, {}, CONTEXT, timeout_s=5))
    assert outcome.error is None
    (inner,) = by_name(exporter.get_finished_spans(), "tool.inner")
    assert inner.parent is None


def test_an_attempt_in_flight_when_the_lease_is_lost_still_ends_its_span(engine, tmp_path, exporter):
    from executor.errors import LeaseLostError
    from planner.plan import Plan
    from tests.executor.runsupport import handed_over

    registry = ToolRegistry()
    release, started = threading.Event(), threading.Event()

    @registry.tool("gate")
    def gate() -> str:
        """Blocks until released."""
        started.set()
        release.wait(20)
        return "done"

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "gate"}]})
    with handed_over(engine, registry, tmp_path, plan, started, release, lease_s=0.3) as handover:
        handover.thread.join(20)
    assert [type(e) for e in handover.errors] == [LeaseLostError]
    from opentelemetry.trace import StatusCode

    (attempt,) = by_name(exporter.get_finished_spans(), "baton.attempt")
    assert attempt.attributes["baton.step_id"] == "a"
    assert attempt.status.status_code is StatusCode.ERROR
