"""The threads sync tools run in: every job is matched by exactly one thread, whatever the churn.

A job queued while every thread is busy is taken by the first thread that
finishes; that thread must not also count itself idle, or a later call would
claim a thread that does not exist and never run.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from executor.calls import call_tool
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.tool_threads import NO_THREAD, ToolThreads
from tests.executor.runsupport import Sleeps, make_runner, run_plan
from tools import NO_RETRY, ToolContext, ToolError, ToolRegistry

CONTEXT = ToolContext(idempotency_key="k-1", run_id="r-1", step_id="s-1", attempt=1)


def nap(s: float) -> float:
    """Sleep ``s`` seconds; return ``s``."""
    time.sleep(s)
    return s


async def _until(condition: Callable[[], bool], *, within_s: float = 5.0) -> None:
    """Wait until ``condition()`` holds (or ``within_s`` passed)."""
    deadline = time.monotonic() + within_s
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


async def _retired(threads: ToolThreads, *, within_s: float = 5.0) -> None:
    """Wait until every idle thread of ``threads`` has retired."""
    deadline = time.monotonic() + within_s
    while threads.counts()[0] and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def test_a_job_queued_while_every_thread_was_busy_leaves_no_phantom_idle_thread():
    threads = ToolThreads(max_threads=2, idle_s=0.5)
    gate = threading.Event()

    async def main() -> None:
        busy = [threads.submit(gate.wait, {"timeout": 5}) for _ in range(2)]
        queued = threads.submit(nap, {"s": 0})  # both threads busy: waits for one of them
        assert threads.counts() == (2, 0, 1)
        gate.set()
        assert await asyncio.wait_for(asyncio.gather(*busy, queued), 5) == [True, True, 0]
        # Each thread counts itself before it hands its result back: two threads, two idle.
        assert threads.counts() == (2, 2, 0)
        await _retired(threads)
        assert threads.counts() == (0, 0, 0)
        # Nothing is running: a new call starts a thread and runs at once.
        assert await asyncio.wait_for(threads.submit(nap, {"s": 0}), 5) == 0

    asyncio.run(main())


def test_a_call_after_idle_threads_retired_runs_even_after_a_busy_spell():
    """The reviewer's scenario through the public surface only: a saturated pool, its threads
    retired, then one ordinary call (it used to be queued with no thread to run it)."""
    threads = ToolThreads(max_threads=2, idle_s=0.05)

    async def main() -> None:
        first = [threads.submit(nap, {"s": 0.2}) for _ in range(2)] + [threads.submit(nap, {"s": 0})]
        await asyncio.wait_for(asyncio.gather(*first), 5)
        await _retired(threads)
        assert await asyncio.wait_for(threads.submit(nap, {"s": 0}), 5) == 0

    asyncio.run(main())


def test_tool_threads_match_every_job_with_one_thread_under_churn():
    """Bursts larger and smaller than the pool, threads retiring between them: every job
    runs, the idle count never exceeds the threads alive, and at rest every thread is idle."""
    threads = ToolThreads(max_threads=3, idle_s=0.005)
    rng = random.Random(20261205)

    async def main() -> None:
        for _ in range(60):
            naps = [rng.choice((0, 0, 0.001, 0.003)) for _ in range(rng.randint(1, 9))]
            jobs = [threads.submit(nap, {"s": s}) for s in naps]
            alive, idle, backlog = threads.counts()
            assert 0 <= idle <= alive <= 3 and backlog >= 0
            assert await asyncio.wait_for(asyncio.gather(*jobs), 10) == naps
            alive, idle, backlog = threads.counts()
            assert idle == alive and backlog == 0
            await asyncio.sleep(rng.choice((0, 0.002, 0.02)))  # some threads retire, some not
        await _retired(threads)
        assert threads.counts() == (0, 0, 0)
        assert await asyncio.wait_for(threads.submit(nap, {"s": 0}), 5) == 0

    asyncio.run(main())


# -- every thread held by a tool past its timeout ----------------------------------------------


def test_a_sync_call_fails_at_once_naming_the_cause_when_every_thread_is_stuck():
    threads = ToolThreads(max_threads=2)
    release = threading.Event()

    def hang() -> None:
        release.wait(10)

    async def main() -> None:
        stuck = [threads.start(hang, {}, "x.hang") for _ in range(2)]
        await _until(lambda: all(job.started for job in stuck))
        assert [job.abandon() for job in stuck] == [True, True]  # their deadlines passed
        assert threads.stuck() == 2
        with capture_logs() as logs:
            for _ in range(2):
                with pytest.raises(ToolError) as refused:
                    threads.start(nap, {"s": 0}, "x.one")
        assert refused.value.code == NO_THREAD and not refused.value.retryable
        assert refused.value.message == ("no tool thread free: all 2 are held by sync tools still "
                                         "running past their timeouts (x.hang: 2); x.one was not "
                                         "called")
        # Warned once for the episode, not once per refused call.
        assert [e["event"][:19] for e in logs if e["log_level"] == "warning"] == [
            "no tool thread free"]
        release.set()
        await _until(lambda: threads.stuck() == 0)
        assert await asyncio.wait_for(threads.submit(nap, {"s": 0}), 5) == 0

    asyncio.run(main())


def test_a_call_queued_behind_busy_threads_still_waits_for_one():
    """Busy is not stuck: a thread whose caller still waits will come back."""
    threads = ToolThreads(max_threads=1)
    release = threading.Event()

    async def main() -> None:
        busy = threads.start(release.wait, {"timeout": 5}, "x.busy")
        queued = threads.submit(nap, {"s": 0})
        release.set()
        assert await asyncio.wait_for(asyncio.gather(busy.future, queued), 5) == [True, 0]

    asyncio.run(main())


def test_a_sync_call_whose_deadline_passes_before_a_thread_is_free_is_never_called():
    registry = ToolRegistry()
    calls: list[str] = []
    release = threading.Event()

    @registry.tool("x.once")
    def once() -> int:
        """Counts its calls."""
        calls.append("called")
        return 1

    threads = ToolThreads(max_threads=1)

    async def main():
        holder = threads.start(release.wait, {"timeout": 5}, "x.slow")  # busy, not abandoned
        outcome = await call_tool(registry.get("x.once"), {}, CONTEXT, timeout_s=0.05,
                                  threads=threads)
        release.set()
        await holder.future
        await asyncio.sleep(0.05)  # time for the thread to reach (and skip) the queued job
        return outcome

    outcome = asyncio.run(main())
    assert calls == []
    assert isinstance(outcome.error, ToolError) and outcome.error.code == NO_THREAD
    assert outcome.error.retryable  # it never ran: trying again is safe
    assert outcome.error.message == ("attempt timed out after 0.05s waiting for a tool thread "
                                     "(all 1 were busy); x.once was not called")


def test_a_run_after_sync_tools_hung_past_their_timeouts_fails_naming_them(
        engine, tmp_path, monkeypatch):
    threads = ToolThreads(max_threads=2)
    monkeypatch.setattr("executor.calls.TOOL_THREADS", threads)
    release = threading.Event()
    registry = ToolRegistry()

    @registry.tool("x.hang", timeout_s=0.2, retry=NO_RETRY)
    def hang() -> int:
        """Hangs until the test ends."""
        release.wait(10)
        return 0

    @registry.tool("x.one", timeout_s=5)
    def one_() -> int:
        """One."""
        return 1

    runner = make_runner(engine, registry, tmp_path, sleep=Sleeps())
    try:
        hung = run_plan(runner, engine, {"goal": "g", "steps": [
            {"id": f"h{i}", "tool": "x.hang"} for i in range(2)]}, concurrency=2)
        assert hung.status is RunStatus.FAILED and threads.stuck() == 2
        record = run_plan(runner, engine, {"goal": "g", "steps": [
            {"id": "a", "tool": "x.one", "retry": {"max_attempts": 3}}]})
    finally:
        release.set()
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.attempts == 1  # not retried: no thread would be free for the retry either
    assert step.error == ("no tool thread free: all 2 are held by sync tools still running past "
                          "their timeouts (x.hang: 2); x.one was not called")
    failure = [e.payload for e in Ledger(engine).events(subject=record.id)
               if e.kind == "attempt_failure"]
    assert [(p["code"], p["retryable"]) for p in failure] == [(NO_THREAD, False)]
