"""Threads for sync tools, and the private event loop a run executes in.

A sync tool runs in a thread so that its timeout holds even when it never
returns: the run abandons the thread, not the other way round.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import queue
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class ToolThreads:
    """Daemon threads that run sync tools and hand results back to the caller's event loop.

    Cheaper than ``asyncio.to_thread`` (no executor future wrapped in an asyncio
    future): one queue put, one ``call_soon_threadsafe``. A thread is added
    when none is idle (up to ``max_threads``), so a tool stuck past its timeout
    never blocks the next call; daemon threads never hold up interpreter exit,
    and idle ones retire after ``idle_s``.
    """

    def __init__(self, *, max_threads: int = 256, idle_s: float = 60.0) -> None:
        self._jobs: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # Under _lock. A waiting thread is either idle (free to claim, or to retire) or
        # claimed by a job already queued or on its way: jobs queued = claimed + _backlog.
        # _backlog counts jobs queued while no thread could be claimed or started; a thread
        # that finishes a job claims one of them instead of becoming idle, so every job
        # is matched by exactly one thread and _idle never counts a thread twice.
        self._idle = 0
        self._backlog = 0
        self._threads = 0
        self._max = max_threads
        self._idle_s = idle_s

    def submit(self, fn: Callable[..., T], kwargs: dict[str, Any]) -> asyncio.Future[T]:
        """Run ``fn(**kwargs)`` in a thread (with the caller's context vars); a future of the running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._idle > 0:
                self._idle -= 1  # claimed now, so two submits never count on one idle thread
            elif self._threads < self._max:
                threading.Thread(target=self._work, name="baton-tool", daemon=True).start()
                self._threads += 1  # counted once started: a failed start leaves no ghost
            else:
                self._backlog += 1  # every thread is busy: the first one to finish takes it
        self._jobs.put((fn, kwargs, contextvars.copy_context(), loop, future))
        return future

    def counts(self) -> tuple[int, int, int]:
        """``(threads, idle, backlog)`` now: threads alive, idle ones, jobs waiting for a busy one."""
        with self._lock:
            return self._threads, self._idle, self._backlog

    def _work(self) -> None:
        while True:
            try:
                fn, kwargs, ctx, loop, future = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # an idle slot was just claimed for a job on its way
            # A call that timed out while it waited for a thread (every one busy) is
            # never started: its retry may already be on its way with the same key.
            # (Reading the flag from this thread is a benign race: at worst it runs.)
            started = not future.cancelled()
            result: Any = None
            error: BaseException | None = None
            if started:
                try:
                    result = ctx.run(fn, **kwargs)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    error = exc
            with self._lock:
                if self._backlog > 0:
                    self._backlog -= 1  # a job queued while all were busy: this thread takes it
                else:
                    self._idle += 1
            if started:
                try:
                    loop.call_soon_threadsafe(_resolve, future, result, error)
                except RuntimeError:
                    pass  # the loop closed while the abandoned call ran
            del fn, kwargs, ctx, loop, future, result, error


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


TOOL_THREADS = ToolThreads()


def run_in_loop(coro: Awaitable[T], *, threads: int) -> T:
    """Run ``coro`` in a fresh loop whose tool threads are abandoned, not joined, at the end.

    ``asyncio.run`` would wait for a sync tool still sleeping past its timeout;
    the run is over, so its thread is left to finish on its own. Objects that
    exist before the run are kept out of the collector's scans while it runs
    (``gc.freeze``), and handed back to it afterwards. (Freezing again during
    the run would keep a long run's state out of the scans too, but also every
    garbage cycle alive at that moment, uncollectable until the run ends.)
    """
    loop = asyncio.new_event_loop()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="baton-tool")
    loop.set_default_executor(pool)
    # Full collections would scan every imported module's objects again and again
    # (measured ~20-35 us/step on long runs); freeze what exists now, only for the run.
    gc.freeze()
    try:
        return loop.run_until_complete(coro)
    finally:
        gc.unfreeze()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        pool.shutdown(wait=False, cancel_futures=True)
        loop.close()
