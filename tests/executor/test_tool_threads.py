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

from executor.tool_threads import ToolThreads


def nap(s: float) -> float:
    """Sleep ``s`` seconds; return ``s``."""
    time.sleep(s)
    return s


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
