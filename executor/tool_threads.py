"""Threads for sync tools, and the private event loop a run executes in.

A sync tool runs in a thread so that its timeout holds even when it never
returns: the run abandons the thread, not the other way round.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import gc
import queue
import signal
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from tools import ToolError

from .telemetry import bind_log

T = TypeVar("T")
log = bind_log()

NO_THREAD = "no_tool_thread"
"""The code of a sync call refused because every tool thread is held by a stuck tool."""


class ThreadJob:
    """One sync call handed to :class:`ToolThreads`: its future, and whether a thread ran it.

    ``started`` and ``abandoned`` change only under the pool's lock, so a caller
    that gives up on a job knows for certain whether its tool was ever called.
    """

    __slots__ = ("abandoned", "ctx", "fn", "future", "kwargs", "loop", "name", "pool", "running",
                 "started")

    def __init__(self, pool: ToolThreads, fn: Callable[..., Any], kwargs: dict[str, Any],
                 loop: asyncio.AbstractEventLoop, name: str) -> None:
        self.pool = pool
        self.fn: Callable[..., Any] | None = fn
        self.kwargs: dict[str, Any] | None = kwargs
        self.ctx: contextvars.Context | None = contextvars.copy_context()
        self.name = name
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.started = False
        self.running = False
        self.abandoned = False

    def abandon(self) -> bool:
        """The caller stops waiting (its deadline passed, or its run stopped); whether the tool
        was started. A queued job is then never started; a running one counts as stuck
        (holding its thread past its caller) until it returns."""
        return self.pool._abandon(self)  # noqa: SLF001 - the pool's bookkeeping, kept in one place


class ToolThreads:
    """Daemon threads that run sync tools and hand results back to the caller's event loop.

    Cheaper than ``asyncio.to_thread`` (no executor future wrapped in an asyncio
    future): one queue put, one ``call_soon_threadsafe``. A thread is added
    when none is idle (up to ``max_threads``), so a tool stuck past its timeout
    does not block the next call; daemon threads never hold up interpreter exit,
    and idle ones retire after ``idle_s``. Once every thread is held by a tool
    its caller gave up on (stuck past its timeout), a new call fails at once
    with :data:`NO_THREAD` instead of waiting in a queue nobody serves.
    """

    def __init__(self, *, max_threads: int = 256, idle_s: float = 60.0) -> None:
        self._jobs: queue.SimpleQueue[ThreadJob] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # Under _lock. A waiting thread is either idle (free to claim, or to retire) or
        # claimed by a job already queued or on its way: jobs queued = claimed + _backlog.
        # _backlog counts jobs queued while no thread could be claimed or started; a thread
        # that finishes a job claims one of them instead of becoming idle, so every job
        # is matched by exactly one thread and _idle never counts a thread twice.
        self._idle = 0
        self._backlog = 0
        self._threads = 0
        # Jobs still running whose caller gave up on them, by tool name.
        self._stuck: collections.Counter[str] = collections.Counter()
        self._warned = False
        self._max = max_threads
        self._idle_s = idle_s

    def submit(self, fn: Callable[..., T], kwargs: dict[str, Any]) -> asyncio.Future[T]:
        """Run ``fn(**kwargs)`` in a thread (with the caller's context vars); a future of the running loop."""
        return self.start(fn, kwargs).future

    def start(self, fn: Callable[..., Any], kwargs: dict[str, Any], name: str = "") -> ThreadJob:
        """Like :meth:`submit`, but the job itself (``name`` is the tool's, for error messages).

        Raises a ``ToolError`` (code ``no_tool_thread``, not retryable) when every
        thread is held by a tool still running past its caller's timeout.
        """
        job = ThreadJob(self, fn, kwargs, asyncio.get_running_loop(), name or _name_of(fn))
        refused: ToolError | None = None
        warn = False
        with self._lock:
            if self._idle > 0:
                self._idle -= 1  # claimed now, so two submits never count on one idle thread
            elif self._threads < self._max:
                threading.Thread(target=self._work, name="baton-tool", daemon=True).start()
                self._threads += 1  # counted once started: a failed start leaves no ghost
            elif not self._exhausted():
                self._backlog += 1  # every thread is busy: the first one to finish takes it
            else:  # every thread is held by a tool nobody waits for: none may ever come back
                held = self._held()
                refused = ToolError(
                    f"no tool thread free: all {self._max} are held by sync tools still running "
                    f"past their timeouts ({held}); {job.name} was not called", code=NO_THREAD)
                warn, self._warned = not self._warned, True
        if refused is not None:
            if warn:
                log.warning("no tool thread free: every one is held by a sync tool still running "
                            "past its timeout; sync tool calls fail until one returns",
                            max_threads=self._max, stuck=held)
            raise refused
        self._jobs.put(job)
        return job

    @property
    def max_threads(self) -> int:
        """The most threads this pool starts."""
        return self._max

    def held_by_stuck_tools(self) -> str | None:
        """Which tools hold every thread, still running past their timeouts (``x.hang: 256``),
        when they do: no sync tool can be called until one returns. None otherwise."""
        with self._lock:
            return self._held() if self._exhausted() else None

    def _exhausted(self) -> bool:
        """Whether every thread this pool may start is held by a stuck tool (under the lock)."""
        return self._threads >= self._max and self._stuck.total() >= self._threads

    def counts(self) -> tuple[int, int, int]:
        """``(threads, idle, backlog)`` now: threads alive, idle ones, jobs waiting for a busy one."""
        with self._lock:
            return self._threads, self._idle, self._backlog

    def stuck(self) -> int:
        """How many threads are held by tools still running after their caller gave up on them."""
        with self._lock:
            return self._stuck.total()

    def _held(self) -> str:
        """Which tools hold threads past their timeouts, most first (under the lock)."""
        top = ", ".join(f"{tool}: {n}" for tool, n in self._stuck.most_common(3))
        return top if len(self._stuck) <= 3 else f"{top} and {len(self._stuck) - 3} more tools"

    def _abandon(self, job: ThreadJob) -> bool:
        with self._lock:
            if not job.abandoned:
                job.abandoned = True
                if job.running:  # it holds its thread until it returns
                    self._stuck[job.name] += 1
            return job.started

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # an idle slot was just claimed for a job on its way
            # A call whose caller gave up while it waited for a thread (every one busy) is
            # never started: its retry may already be on its way with the same key. (A
            # future cancelled by hand is read without the lock: at worst it runs.)
            with self._lock:
                job.started = job.running = not job.abandoned and not job.future.cancelled()
            result: Any = None
            error: BaseException | None = None
            if job.started:
                try:
                    result = job.ctx.run(job.fn, **job.kwargs)  # type: ignore[union-attr,misc]
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    error = exc
            with self._lock:
                if job.running and job.abandoned:
                    self._stuck[job.name] -= 1
                    if self._stuck[job.name] <= 0:
                        del self._stuck[job.name]
                    self._warned = False  # a thread came back: warn again if all are held again
                job.running = False
                if self._backlog > 0:
                    self._backlog -= 1  # a job queued while all were busy: this thread takes it
                else:
                    self._idle += 1
            if job.started:
                try:
                    job.loop.call_soon_threadsafe(_resolve, job.future, result, error)
                except RuntimeError:
                    pass  # the loop closed while the abandoned call ran
            job.fn = job.kwargs = job.ctx = None  # the caller may keep the job: keep nothing alive
            del job, result, error


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if isinstance(error, StopIteration):
        # asyncio refuses StopIteration as a future's exception (a TypeError in this
        # callback, the future never resolved and the call waited out its timeout): it is
        # wrapped as a generator's is (PEP 479), so the call fails at once as a crash.
        wrapped = RuntimeError("tool raised StopIteration")
        wrapped.__cause__ = error
        error = wrapped
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


TOOL_THREADS = ToolThreads()


class Interrupts:
    """Counts the SIGINTs this process receives while a run loop watches for them.

    A ``KeyboardInterrupt`` raised inside an ``async def`` tool is the tool's own
    failure unless a SIGINT arrived meanwhile: a real Ctrl-C lands in whatever
    frame runs at that moment, the tool's included, and must still stop the process.
    """

    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Count SIGINTs, then hand each to the handler that was there (its behaviour is kept).

        Only the main thread receives signals; elsewhere, or where SIGINT is ignored or
        left to the system (no ``KeyboardInterrupt`` can come of it), nothing is installed.
        """
        previous = (signal.getsignal(signal.SIGINT)
                    if threading.current_thread() is threading.main_thread() else None)
        if not callable(previous):
            yield
            return

        def counted(signum: int, frame: Any) -> Any:
            self.count += 1
            return previous(signum, frame)

        signal.signal(signal.SIGINT, counted)
        try:
            yield
        finally:
            if signal.getsignal(signal.SIGINT) is counted:  # not replaced meanwhile
                signal.signal(signal.SIGINT, previous)


INTERRUPTS = Interrupts()


EXECUTOR_THREAD_NAME = "baton-async-tool"
"""The name of the threads of a run's default executor (``_0``, ``_1``… appended): an async
tool's ``asyncio.to_thread`` and ``run_in_executor(None, …)`` calls run there."""

_TOOL_CODE_THREADS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def _mark_tool_code_thread() -> None:
    _TOOL_CODE_THREADS.add(threading.current_thread())


def runs_tool_code(thread: threading.Thread) -> bool:
    """Whether ``thread`` is one of a run's default executor, which runs only tools' code.

    Unlike :class:`ToolThreads`' daemon threads, those are joined when the interpreter exits
    (``concurrent.futures`` does it, and offers no daemon threads): one still held by an
    abandoned call once the run is over is the tool's, not Baton's, to wait for.
    """
    return thread in _TOOL_CODE_THREADS


def _tasks_made_in(loop: asyncio.AbstractEventLoop) -> weakref.WeakSet[asyncio.Task[Any]]:
    """Every task ``loop`` makes from now on, finished ones too (``all_tasks`` leaves those out)."""
    made: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()

    def make(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.add(task)
        return task

    loop.set_task_factory(make)
    return made


def run_in_loop(coro: Awaitable[T], *, threads: int) -> T:
    """Run ``coro`` in a fresh loop whose tool threads are abandoned, not joined, at the end.

    ``asyncio.run`` would wait for a sync tool still sleeping past its timeout;
    the run is over, so its thread is left to finish on its own. Objects that
    exist before the run are kept out of the collector's scans while it runs
    (``gc.freeze``), and handed back to it afterwards. (Freezing again during
    the run would keep a long run's state out of the scans too, but also every
    garbage cycle alive at that moment, uncollectable until the run ends.)
    SIGINTs are counted meanwhile (:data:`INTERRUPTS`), so that a Ctrl-C is
    never mistaken for a tool's own ``KeyboardInterrupt``.
    """
    loop = asyncio.new_event_loop()
    made = _tasks_made_in(loop)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=EXECUTOR_THREAD_NAME,
                              initializer=_mark_tool_code_thread)
    loop.set_default_executor(pool)
    # Full collections would scan every imported module's objects again and again
    # (measured ~20-35 us/step on long runs); freeze what exists now, only for the run.
    gc.freeze()
    try:
        with INTERRUPTS.watching():
            return loop.run_until_complete(coro)
    finally:
        gc.unfreeze()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        # The run is over: what its calls raised was settled as their outcomes, or belongs
        # to a call abandoned when the run stopped (a Ctrl-C in an async tool's own frame
        # ends that task with the KeyboardInterrupt that stops the process). Retrieved, so
        # that asyncio logs no "Task exception was never retrieved" and its traceback.
        for task in list(made):
            if task.done() and not task.cancelled():
                task.exception()
        pool.shutdown(wait=False, cancel_futures=True)
        loop.close()
