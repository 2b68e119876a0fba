"""One attempt in flight: begin_call / call_tool outcomes, timeouts, abandonment, tool threads.

The tests drive :mod:`executor.calls` on a private event loop (``asyncio.run``);
the attempt spans of real runs are in test_attempt_spans.py.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

import pytest

from executor.calls import Call, Outcome, begin_call, call_tool
from tools import (
    RetryableToolError,
    ToolContext,
    ToolError,
    ToolInputError,
    ToolRegistry,
)

from tests.executor.runsupport import Sleeps

CONTEXT = ToolContext(idempotency_key="k-1", run_id="r-1", step_id="s-1", attempt=1)
KINDS = ("sync", "async")


def run(coro):
    return asyncio.run(coro)


# -- the attempt span reaches into the tool ---------------------------------------------------


# -- begin_call / call_tool ------------------------------------------------------------------


def test_an_async_tool_past_its_timeout_is_cancelled_and_times_out():
    registry = ToolRegistry()
    seen: list[str] = []

    @registry.tool("slow.async")
    async def slow_async() -> str:
        """Sleep well past any test's timeout."""
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return "late"

    started = time.monotonic()
    outcome = run(call_tool(registry.get("slow.async"), {}, CONTEXT, timeout_s=0.05))
    assert time.monotonic() - started < 1.0
    assert outcome.output is None
    assert isinstance(outcome.error, TimeoutError)
    assert "timed out after 0.05s" in str(outcome.error)
    assert seen == ["cancelled"]


def test_a_blocked_sync_tool_times_out_without_waiting_for_its_thread():
    registry = ToolRegistry()
    release = threading.Event()
    entered = threading.Event()

    @registry.tool("slow.sync")
    def slow_sync() -> str:
        """Block in its thread until released (at most 2 s)."""
        entered.set()
        release.wait(2)
        return "late"

    try:
        started = time.monotonic()
        outcome = run(call_tool(registry.get("slow.sync"), {}, CONTEXT, timeout_s=0.05))
        took = time.monotonic() - started
        still_blocked = not release.is_set()
    finally:
        release.set()
    assert entered.is_set() and still_blocked
    assert took < 1.0
    assert isinstance(outcome.error, TimeoutError) and "timed out after 0.05s" in str(outcome.error)


def test_an_async_tool_that_swallows_cancellation_is_abandoned():
    registry = ToolRegistry()
    stop = threading.Event()
    cancels: list[float] = []

    @registry.tool("stubborn")
    async def stubborn() -> str:
        """Keep going whatever happens, until the test says stop."""
        while not stop.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                cancels.append(time.monotonic())
        return "late"

    async def main():
        started = time.monotonic()
        outcome = await call_tool(registry.get("stubborn"), {}, CONTEXT, timeout_s=0.05)
        took = time.monotonic() - started
        running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        stop.set()  # let the abandoned task end before asyncio.run waits for it
        await asyncio.gather(*running)
        return outcome, took, len(running)

    try:
        outcome, took, left_running = run(main())
    finally:
        stop.set()
    assert took < 0.5
    assert isinstance(outcome.error, TimeoutError) and "timed out after 0.05s" in str(outcome.error)
    assert cancels, "the tool was never asked to stop"
    assert left_running == 1  # abandoned, not awaited


def slow_async_registry() -> ToolRegistry:
    """``slow.async``: sleeps well past any test, then returns."""
    registry = ToolRegistry()

    @registry.tool("slow.async")
    async def slow_async() -> str:
        """Sleep well past the test."""
        await asyncio.sleep(30)
        return "late"

    return registry


def test_a_call_past_its_deadline_is_ready_and_expires_when_asked():
    registry = slow_async_registry()

    async def main():
        call = begin_call(registry.get("slow.async"), {}, CONTEXT, timeout_s=30)
        now = asyncio.get_running_loop().time()
        assert not call.ready(now) and not call.expired
        assert call.deadline == pytest.approx(now + 30, abs=1.0)
        assert call.ready(call.deadline)  # no timer needed: the loop's clock is enough
        assert call.expired
        outcome = call.outcome()
        await asyncio.sleep(0)
        return call, outcome

    call, outcome = run(main())
    assert isinstance(outcome.error, TimeoutError) and "timed out after 30s" in str(outcome.error)
    assert call.future.cancelled()


def test_the_timeout_is_a_loop_timer_that_fires_with_nobody_polling():
    registry = slow_async_registry()

    async def main():
        call = begin_call(registry.get("slow.async"), {}, CONTEXT, timeout_s=0.02)
        assert call.timer is not None
        await asyncio.sleep(0.1)  # nobody asks ready(): only the timer can expire it
        assert call.expired and call.future.cancelled()
        return call.outcome()

    outcome = run(main())
    assert isinstance(outcome.error, TimeoutError)


def converting_registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("converts.cancel")
    async def converts_cancel() -> str:
        """Turn its cancellation into an error of its own, as some client libraries do."""
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            raise RuntimeError("connection closed") from None
        return "late"

    return registry


def test_an_expired_task_that_ends_with_an_error_is_not_reported_as_unretrieved():
    spec = converting_registry().get("converts.cancel")

    async def main():
        loop = asyncio.get_running_loop()
        reported: list[str] = []
        loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx["message"]))
        call = begin_call(spec, {}, CONTEXT, timeout_s=0.02)
        await asyncio.sleep(0.1)  # the timer cancels the task, which ends with its RuntimeError
        assert call.future.done() and call.ready(loop.time())
        outcome = call.outcome()
        del call
        gc.collect()
        return outcome, reported

    outcome, reported = run(main())
    assert isinstance(outcome.error, TimeoutError)
    assert reported == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("args", [{"n": "not a number"}, {}, {"n": 1, "extra": True}])
def test_invalid_arguments_fail_as_tool_input_without_starting_the_tool(kind, args):
    registry = ToolRegistry()
    started: list[int] = []

    if kind == "sync":
        @registry.tool("add.one")
        def add_one(n: int) -> int:
            """Add one.

            Args:
                n: A number.
            """
            started.append(n)
            return n + 1
    else:
        @registry.tool("add.one")
        async def add_one(n: int) -> int:
            """Add one (async).

            Args:
                n: A number.
            """
            started.append(n)
            return n + 1

    spec = registry.get("add.one")

    async def main():
        call = begin_call(spec, args, CONTEXT, timeout_s=5)
        assert call.future is None and call.timer is None
        assert call.ready(0.0)
        direct = call.outcome()
        via_call_tool = await call_tool(spec, args, CONTEXT, timeout_s=5)
        await asyncio.sleep(0.01)
        return direct, via_call_tool

    for outcome in run(main()):
        assert outcome.output is None
        assert isinstance(outcome.error, ToolInputError)
        assert "add.one: invalid arguments or output" in outcome.error.message
    assert started == []


@pytest.mark.parametrize("kind", KINDS)
def test_an_output_that_does_not_fit_the_output_model_is_a_tool_input_error(kind):
    registry = ToolRegistry()

    if kind == "sync":
        @registry.tool("count")
        def count() -> dict[str, int]:
            """Return counts that are not numbers."""
            return {"apples": "many"}  # type: ignore[dict-item]
    else:
        @registry.tool("count")
        async def count() -> dict[str, int]:
            """Return counts that are not numbers (async)."""
            return {"apples": "many"}  # type: ignore[dict-item]

    outcome = run(call_tool(registry.get("count"), {}, CONTEXT, timeout_s=5))
    assert outcome.output is None
    assert isinstance(outcome.error, ToolInputError) and "count:" in outcome.error.message


@pytest.mark.parametrize("kind", KINDS)
def test_a_tool_gets_its_context_and_its_output_is_shaped(kind):
    registry = ToolRegistry()

    if kind == "sync":
        @registry.tool("echo")
        def echo(n: int, context: ToolContext) -> dict[str, Any]:
            """Echo ``n`` and where it ran.

            Args:
                n: A number.
            """
            return {"n": n, "key": context.idempotency_key, "step": context.step_id}
    else:
        @registry.tool("echo")
        async def echo(n: int, context: ToolContext) -> dict[str, Any]:
            """Echo ``n`` and where it ran (async).

            Args:
                n: A number.
            """
            return {"n": n, "key": context.idempotency_key, "step": context.step_id}

    outcome = run(call_tool(registry.get("echo"), {"n": 4}, CONTEXT, timeout_s=5))
    assert outcome == Outcome(output={"value": {"n": 4, "key": "k-1", "step": "s-1"}})


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("error", [ValueError("bad value"), RetryableToolError("try later")])
def test_a_tools_own_exception_is_the_outcome_error(kind, error):
    registry = ToolRegistry()

    if kind == "sync":
        @registry.tool("fail")
        def fail() -> str:
            """Raise the test's error."""
            raise error
    else:
        @registry.tool("fail")
        async def fail() -> str:
            """Raise the test's error (async)."""
            raise error

    outcome = run(call_tool(registry.get("fail"), {}, CONTEXT, timeout_s=5))
    assert outcome.output is None and outcome.error is error


@pytest.mark.parametrize("kind", KINDS)
def test_delay_s_waits_with_the_injected_sleep_before_the_tool_starts(kind):
    registry = ToolRegistry()
    events: list[str] = []

    if kind == "sync":
        @registry.tool("mark")
        def mark() -> str:
            """Record that the tool ran."""
            events.append("tool")
            return "ok"
    else:
        @registry.tool("mark")
        async def mark() -> str:
            """Record that the tool ran (async)."""
            events.append("tool")
            return "ok"

    sleeps = Sleeps(events)
    spec = registry.get("mark")
    started = time.monotonic()
    outcome = run(call_tool(spec, {}, CONTEXT, timeout_s=5, backoff=sleeps(30.0)))
    assert time.monotonic() - started < 1.0  # the injected sleep, not a real one
    assert outcome == Outcome(output={"value": "ok"})
    assert events == ["sleep 30", "tool"] and sleeps.delays == [30.0]

    events.clear()
    assert run(call_tool(spec, {}, CONTEXT, timeout_s=5)).error is None
    assert events == ["tool"]


def test_the_timeout_is_counted_after_the_delay():
    registry = ToolRegistry()

    @registry.tool("quick")
    async def quick() -> str:
        """Take a little while, less than its timeout."""
        await asyncio.sleep(0.05)
        return "ok"

    async def slow_sleep(delay: float) -> None:
        await asyncio.sleep(0.2)  # a backoff longer than the attempt's timeout

    outcome = run(call_tool(registry.get("quick"), {}, CONTEXT, timeout_s=0.15,
                            backoff=slow_sleep(1.0)))
    assert outcome == Outcome(output={"value": "ok"})


def test_a_settled_call_is_ready_at_once():
    outcome = Outcome(error=ToolInputError("nope"))
    call = Call.settled(outcome)
    assert call.ready(float("-inf")) and call.outcome() is outcome


def test_a_tool_that_raises_cancelled_error_itself_fails_without_being_called_a_timeout():
    registry = ToolRegistry()

    @registry.tool("self.cancelling")
    async def self_cancelling() -> str:
        """Raises CancelledError though nobody cancelled it."""
        raise asyncio.CancelledError

    outcome = run(call_tool(registry.get("self.cancelling"), {}, CONTEXT, timeout_s=30))
    assert isinstance(outcome.error, ToolError) and not isinstance(outcome.error, TimeoutError)
    assert outcome.error.code == "tool_cancelled" and not outcome.error.retryable
    assert "self.cancelling was cancelled from inside the tool" in outcome.error.message


def test_abandoning_a_call_cancels_its_task_and_its_timer():
    registry = slow_async_registry()

    async def main():
        call = begin_call(registry.get("slow.async"), {}, CONTEXT, timeout_s=10)
        call.abandon()
        await asyncio.sleep(0)
        return call

    call = run(main())
    assert call.future.cancelled() and call.timer.cancelled() and not call.expired


def test_a_sync_call_that_timed_out_waiting_for_a_thread_is_never_started():
    from executor.tool_threads import ToolThreads

    threads = ToolThreads(max_threads=1)
    release = threading.Event()
    ran: list[str] = []

    def hold() -> str:
        release.wait(5)
        ran.append("hold")
        return "held"

    def queued() -> str:
        ran.append("queued")
        return "late"

    async def main():
        first = threads.submit(hold, {})
        second = threads.submit(queued, {})  # waits: the only thread is busy
        second.cancel()  # its deadline passed before a thread was free
        release.set()
        await first
        await asyncio.sleep(0.2)  # time for the thread to reach the queued job

    run(main())
    assert ran == ["hold"]


def _counting_tool(calls: list[str]):
    registry = ToolRegistry()

    @registry.tool("count.calls")
    async def count_calls() -> str:
        """Counts its calls."""
        calls.append("called")
        return "ok"

    return registry.get("count.calls")


def test_a_retry_whose_backoff_is_cancelled_never_calls_its_tool():
    calls: list[str] = []

    async def scenario() -> Outcome:
        backoff = asyncio.ensure_future(asyncio.sleep(30))
        waiting = asyncio.ensure_future(call_tool(_counting_tool(calls), {}, CONTEXT, timeout_s=5,
                                                  backoff=backoff))
        await asyncio.sleep(0.01)
        backoff.cancel()  # the run stops
        return await waiting

    outcome = run(scenario())
    assert calls == [] and outcome.error.code == "run_stopping"


def test_a_retry_whose_run_stopped_during_its_backoff_never_calls_its_tool():
    calls: list[str] = []
    outcome = run(call_tool(_counting_tool(calls), {}, CONTEXT, timeout_s=5,
                            backoff=asyncio.sleep(0), stop_reason=lambda: "not tried again: cancelled"))
    assert calls == [] and outcome.error.message == "not tried again: cancelled"


def test_an_abandoned_retry_never_calls_its_tool_even_as_its_backoff_ends():
    """Abandoned just as the backoff finished (the task's wake-up already queued)."""
    calls: list[str] = []

    async def scenario() -> Outcome:
        backoff = asyncio.get_running_loop().create_future()
        waiting = asyncio.ensure_future(call_tool(_counting_tool(calls), {}, CONTEXT, timeout_s=5,
                                                  backoff=backoff))
        await asyncio.sleep(0)
        backoff.set_result(None)  # the backoff ends...
        waiting.cancel()  # ...and the run abandons the call before it resumes
        return await waiting

    outcome = run(scenario())
    assert calls == [] and outcome.error.code == "run_stopping"
