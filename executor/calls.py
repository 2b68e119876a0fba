"""One tool call in flight under a real timeout, and how its result becomes an :class:`Outcome`.

:func:`begin_call` starts the tool at once (a task for an ``async def``, a
thread for a plain function) and arms a timer at its deadline; the run loop
waits for the :class:`Call` it gets back and settles it. The tool's output is
checked and shaped (:meth:`~tools.ToolSpec.shape`) within the attempt, under its
limit: a sync tool's in its thread; an async tool's in a tool thread too unless it
is light (:meth:`~tools.ToolSpec.prechecked`): reading or writing it may run code
of the tool's own (a computed field, or a serializer whose result, shared at 40
levels, is written out 2**40 times), or writing it out takes long (one list
shared at each of 20 levels), either of which on the event loop would hold the
run, its timers and its lease renewal with it. No timeout coroutine
wraps the call (an async tool's task only adds one frame, which keeps a
``SystemExit`` it raises inside the attempt), so an attempt costs one task or
one thread job and one timer. On
timeout the call is cancelled and abandoned: a tool that ignores
cancellation (or a sync tool still busy in its thread) no longer holds up
the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tools import ToolContext, ToolError, ToolInputError, ToolSpec
from tools.errors import code_text
from tools.redaction import CUT_MARK
from tools.registry import MAX_TIMEOUT_S
from tools.spec import TOOL_DEADLINE_MARGIN_S, validation_error_text

from .retry import transient_code
from .telemetry import NOOP_SPAN, bind_log, run_in_span, unrendered_message
from .tool_threads import INTERRUPTS, NO_THREAD, TOOL_THREADS, ThreadJob, ToolThreads



def attempt_timeout_s(spec: ToolSpec, args: Mapping[str, Any], configured_s: float) -> float:
    """The time limit of one attempt: ``configured_s`` (the step's ``timeout_s``, else the
    tool's), lengthened to the deadline the call declares from its resolved ``args`` plus
    :data:`TOOL_DEADLINE_MARGIN_S`, never past :data:`MAX_TIMEOUT_S` (24 h).

    A declaration that fails (arguments the input model will refuse) leaves ``configured_s``:
    a deadline is always armed.
    """
    try:
        declared = spec.declared_timeout_s(args)
    except Exception:  # noqa: BLE001 - the call fails binding its arguments, within the limit
        return configured_s
    if declared is None:
        return configured_s
    return max(configured_s, min(MAX_TIMEOUT_S, declared + TOOL_DEADLINE_MARGIN_S))


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: an output, or the error it failed with."""

    output: dict[str, Any] | None = None
    error: BaseException | None = None


class Call:
    """One attempt in flight: the tool's future, its deadline, and what settling it needs.

    ``future`` is the tool's own task or thread job; for a retry waiting out
    its backoff it is a task of :func:`call_tool` that resolves to an
    :class:`Outcome` (``spec`` is then None and the task keeps its own time).
    """

    __slots__ = ("_settled", "deadline", "expired", "future", "hold", "job", "spec", "span",
                 "timeout_s", "timer")

    def __init__(self, spec: ToolSpec | None, future: asyncio.Future[Any] | None, *,
                 timeout_s: float = math.inf, span: Any = NOOP_SPAN,
                 settled: Outcome | None = None, job: ThreadJob | None = None,
                 hold: LoopHold | None = None) -> None:
        self.spec = spec
        self.future = future
        self.job = job  # a sync tool's thread job: whether it ever started
        self.hold = hold  # an async tool's steps, timed: how long it held the event loop
        self.timeout_s = timeout_s
        self.span = span
        self.expired = False
        self._settled = settled
        self.timer: asyncio.TimerHandle | None = None
        self.deadline = math.inf
        if future is not None and spec is not None and math.isfinite(timeout_s):
            loop = future.get_loop()
            self.deadline = loop.time() + timeout_s
            self.timer = loop.call_at(self.deadline, self.expire)
        if hold is not None:
            hold.deadline = self.deadline

    @classmethod
    def settled(cls, outcome: Outcome, span: Any = NOOP_SPAN) -> Call:
        """A call that ended before it started (its arguments did not bind)."""
        return cls(None, None, span=span, settled=outcome)

    def abandon(self) -> None:
        """The run stops waiting for this call (it lost its lease): cancel it and its timer."""
        if self.timer is not None:
            self.timer.cancel()
        if self.job is not None:
            self.job.abandon()
        if self.future is not None and not self.future.done():
            self.future.cancel()
            _abandon(self.future)

    def expire(self) -> None:
        """The deadline passed: cancel the tool and stop waiting for it."""
        if self.future is not None and not self.future.done():
            self.expired = True
            if self.job is not None:
                self.job.abandon()  # a job still queued is now never started
            self.future.cancel()

    def ready(self, now: float) -> bool:
        """Whether :meth:`outcome` can be taken now (done, expired, or past the deadline)."""
        if self._settled is not None or self.expired or self.future.done():  # type: ignore[union-attr]
            return True
        if now >= self.deadline:
            self.expire()
            return True
        return False

    def outcome(self) -> Outcome:
        """The attempt's result; call once :meth:`ready` says so."""
        if self._settled is not None:
            return self._settled
        future = self.future
        assert future is not None
        if self.timer is not None:
            self.timer.cancel()
        if self.spec is None:  # a retry's call_tool task: it resolves to an Outcome itself
            return future.result()
        if self.hold is not None:
            self.hold.warn(self.timeout_s)
        if self.expired:
            _abandon(future)  # whenever it finishes (it may have, since), nobody reads its result
            if self.job is not None and not self.job.started:
                return Outcome(error=_waited_for_thread(self.spec.name, self.job, self.timeout_s))
            return Outcome(error=TimeoutError(f"attempt timed out after {self.timeout_s:g}s"))
        if self.hold is not None and self.hold.ended_late():
            # Its deadline passed while the loop was held: the timer could not cut it off, but
            # the limit holds all the same; whatever it returned or raised is not read.
            return Outcome(error=TimeoutError(self.hold.late(self.timeout_s)))
        if future.cancelled():  # not by its deadline: the tool raised CancelledError itself
            return Outcome(error=ToolError(f"{self.spec.name} was cancelled from inside the tool",
                                           code="tool_cancelled"))
        error = future.exception()
        if isinstance(error, _ToolExit):
            error = error.raised
        if error is not None:  # the tool's, or its output's that does not fit its model
            return _failed(self.spec, error)
        return Outcome(output=future.result())  # shaped in the attempt (begin_call)


def begin_call(spec: ToolSpec, args: Mapping[str, Any], context: ToolContext, *,
               timeout_s: float, span: Any = NOOP_SPAN, threads: ToolThreads | None = None) -> Call:
    """Bind the arguments and start the tool now, under ``span``; never raises.

    Sync tools run on ``threads`` (the shared :data:`TOOL_THREADS` by default), their output
    shaped in the same thread; an async tool's output is shaped on one of them unless it is
    light (:meth:`~tools.ToolSpec.prechecked`), on the loop then.
    """
    try:
        kwargs = spec.bind(args, context)
    except Exception as exc:  # noqa: BLE001 - recorded as the attempt's failure
        return Call.settled(_failed(spec, exc), span)
    job: ThreadJob | None = None
    hold: LoopHold | None = None
    threads = threads or TOOL_THREADS
    try:
        if spec.is_async:
            loop = asyncio.get_running_loop()
            hold = LoopHold(spec.name, context)
            future = run_in_span(span, loop.create_task, _contained(spec, kwargs, hold, threads))
        else:
            job = run_in_span(span, threads.start, spec.called_and_shaped, kwargs, spec.name)
            future = job.future
    except Exception as exc:  # noqa: BLE001 - no thread free, or none could be started: it fails
        return Call.settled(_failed(spec, exc), span)
    return Call(spec, future, timeout_s=timeout_s, span=span, job=job, hold=hold)


async def call_tool(spec: ToolSpec, args: Mapping[str, Any], context: ToolContext, *,
                    timeout_s: float, backoff: Awaitable[Any] | None = None,
                    stop_reason: Callable[[], str | None] = lambda: None,
                    before_call: Callable[[], None] | None = None,
                    threads: ToolThreads | None = None) -> Outcome:
    """Wait out ``backoff`` (a retry's), then call the tool and wait for it; never hangs.

    A backoff cancelled by its run, or one that ends with ``stop_reason`` saying
    why not, ends the attempt without calling the tool: a run that is stopping
    (cancelled, or a step failed for good) must not cause a side effect.
    ``before_call`` runs just before the tool is called (the run journals that the
    call begins); what it raises (the database failed) is raised, the tool not called.
    """
    if backoff is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await backoff
    reason = stop_reason()
    if reason is not None or (backoff is not None and _cut_short(backoff)):
        return Outcome(error=ToolError(reason or "not tried again: the run stopped",
                                       code="run_stopping"))
    if before_call is not None:
        before_call()
    call = begin_call(spec, args, context, timeout_s=timeout_s, threads=threads)
    loop = asyncio.get_running_loop()
    while not call.ready(loop.time()):
        assert call.future is not None
        await asyncio.wait({call.future}, timeout=max(0.0, call.deadline - loop.time()))
    return call.outcome()


def _cut_short(backoff: Awaitable[Any]) -> bool:
    """Whether a backoff ended by cancellation: its own, or this task's (abandoned by its run,
    possibly just as the backoff finished): either way the tool must not be called now."""
    task = asyncio.current_task()
    return (isinstance(backoff, asyncio.Future) and backoff.cancelled()) or bool(
        task is not None and task.cancelling())


class _ToolExit(Exception):  # noqa: N818 - a carrier, never shown: outcome() unwraps it
    """Carries a SystemExit or KeyboardInterrupt an async tool raised through its task."""

    def __init__(self, raised: BaseException) -> None:
        super().__init__(raised)
        self.raised = raised


async def _contained(spec: ToolSpec, kwargs: dict[str, Any], hold: LoopHold | None,
                     threads: ToolThreads) -> Any:
    """Await an async tool so that a SystemExit or KeyboardInterrupt it raises is its failure,
    each of its steps timed on ``hold``; then shape its output: on the loop when it is light,
    on ``threads`` otherwise (see :meth:`~tools.ToolSpec.prechecked`), either way a
    SystemExit raised meanwhile failing the attempt too.

    asyncio re-raises those two out of the event loop, ending the run (and a worker)
    with the run left ``running``; a sync tool's are already its failure (its thread
    hands every exception over). A SIGINT received meanwhile makes a
    ``KeyboardInterrupt`` a real Ctrl-C, which is left to stop the process. (The
    tool's coroutine is made here: one cancelled before it starts is never made.)
    """
    interrupts = INTERRUPTS.count
    try:
        called = spec.fn(**kwargs)
        result = await (called if hold is None else _Timed(called, hold))
        if hold is not None and hold.ended_late():
            return None  # past its deadline: its output is never read (Call.outcome), nor shaped
        result, off_loop = spec.prechecked(result)  # runs no code of the tool's own
        if not off_loop:  # light: linear in a few kilobytes; results ending together share a commit
            # (Not checked against the deadline: the light walk counted every value written,
            # enum members' included, so this takes milliseconds at most.)
            return spec.shape_prechecked(result)
    except (SystemExit, KeyboardInterrupt) as exc:
        # The tool's, or one raised while its output was read here: a light output runs no
        # code of the tool's own, but none may leave the event loop all the same.
        if isinstance(exc, KeyboardInterrupt) and INTERRUPTS.count != interrupts:
            raise
        raise _ToolExit(exc) from None
    return await _shaped(spec, result, threads)


async def _shaped(spec: ToolSpec, result: Any, threads: ToolThreads) -> Any:
    """``spec.shape_off_loop(result)`` in a tool thread; one the attempt gives up on is
    abandoned there (counted as stuck while it runs on), as a sync tool's is.

    A SystemExit or KeyboardInterrupt raised there (by a computed field of the tool's own) is
    the attempt's failure, as the tool's own is: a tool thread receives no Ctrl-C, and awaited
    here, asyncio would re-raise it out of the event loop. (A SIGINT received meanwhile is a
    real Ctrl-C, left to stop the process, as in :func:`_contained`.)
    """
    interrupts = INTERRUPTS.count
    try:
        job = threads.start(spec.shape_off_loop, {"result": result}, spec.name)
    except ToolError as exc:  # every thread is held by a stuck tool (its text says "not called")
        raise ToolError(f"{spec.name} returned, but no tool thread was free to check its output: "
                        f"all {threads.max_threads} are held by sync tools still running past "
                        f"their timeouts ({threads.held_by_stuck_tools()})", code=exc.code) from None
    try:
        return await job.future
    except asyncio.CancelledError:
        job.abandon()
        raise
    except (SystemExit, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt) and INTERRUPTS.count != interrupts:
            raise
        raise _ToolExit(exc) from None


class LoopHold:
    """How an async tool held the event loop: each step (its own code, from one await to the
    next) is timed, since no timer can fire while one runs.

    A tool that blocks (``time.sleep``, CPU work without an await) past its deadline is seen
    after the fact: the step that ran across the deadline is its hold on the loop, and an
    attempt that ended after its deadline, held by it or by other work, timed out.
    """

    __slots__ = ("context", "deadline", "ended_at", "held_s", "started_at", "tool", "warned")

    def __init__(self, tool: str, context: ToolContext) -> None:
        self.tool = tool
        self.context = context
        self.deadline = math.inf  # set by its Call
        self.started_at: float | None = None  # (loop time) its first step began
        self.ended_at: float | None = None  # its last step ended (it returned or raised)
        self.held_s: float | None = None  # the step that ran across the deadline, if one did
        self.warned = False

    def step(self, began: float, ended: float) -> None:
        """One step of the tool ran from ``began`` to ``ended`` (loop time)."""
        if self.started_at is None:
            self.started_at = began
        if began <= self.deadline < ended and self.held_s is None:
            self.held_s = ended - began

    def ended_late(self) -> bool:
        """Whether the tool returned (or raised) only after its deadline."""
        return self.ended_at is not None and self.ended_at > self.deadline

    def late(self, timeout_s: float) -> str:
        """The error of an attempt that ended after its deadline."""
        if self.held_s is not None:
            return (f"attempt timed out after {timeout_s:g}s ({self.tool} held the event loop "
                    f"for {self.held_s:.1f}s without awaiting, so its limit could not cut it off)")
        took = self.ended_at - (self.started_at or self.ended_at)  # type: ignore[operator]
        return (f"attempt timed out after {timeout_s:g}s (it ended only after {took:.1f}s, the "
                "event loop held by other work meanwhile)")

    def warn(self, timeout_s: float) -> None:
        """Log once that the tool held the loop past its deadline, if it did."""
        if self.held_s is None or self.warned:
            return
        self.warned = True
        ctx = self.context
        bind_log(run_id=ctx.run_id or None, step_id=ctx.step_id or None,
                 attempt=ctx.attempt).warning(
            "an async tool blocked the event loop past its time limit", tool=self.tool,
            blocked_s=round(self.held_s, 3), timeout_s=timeout_s,
            hint="an async def tool must await its I/O (or run blocking work in a thread, "
                 "or be a plain def); while it blocks, no other step, timer or lease renewal runs")


class _Timed:
    """Awaits a coroutine one step at a time, timing each step on a :class:`LoopHold`.

    Everything passes through as ``await`` would pass it: what the coroutine yields (the
    futures it waits on) goes up to its task, and what the task sends or throws (a
    cancellation) goes down to the coroutine.
    """

    __slots__ = ("coro", "hold")

    def __init__(self, coro: Any, hold: LoopHold) -> None:
        self.coro = coro
        self.hold = hold

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, hold = self.coro, self.hold
        if not hasattr(coro, "send"):  # an awaitable that is no coroutine: awaited as it is
            return (yield from coro.__await__())
        clock = asyncio.get_running_loop().time
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            began = clock()
            try:
                yielded = coro.send(sent) if thrown is None else coro.throw(thrown)
            except BaseException as ended:  # it returned (StopIteration) or raised
                hold.ended_at = clock()
                hold.step(began, hold.ended_at)
                if isinstance(ended, StopIteration):
                    return ended.value
                raise
            finally:
                thrown = None  # (no reference cycle through the exception's traceback)
            hold.step(began, clock())
            try:
                sent = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as error:  # noqa: BLE001 - a cancellation: the tool's to handle
                sent, thrown = None, error


def _waited_for_thread(name: str, job: ThreadJob, timeout_s: float) -> ToolError:
    """The attempt's deadline passed before any thread was free to start the tool."""
    stuck, size = job.pool.stuck(), job.pool.max_threads
    why = (f"{stuck} of the {size} are held by sync tools still running past their timeouts"
           if stuck else f"all {size} were busy")
    return ToolError(f"attempt timed out after {timeout_s:g}s waiting for a tool thread ({why}); "
                     f"{name} was not called", code=NO_THREAD, retryable=True)


def _failed(spec: ToolSpec, error: BaseException) -> Outcome:
    if isinstance(error, ValidationError):
        # Described without the inputs pydantic quotes: a secret's cut start and end.
        return Outcome(error=ToolInputError(
            f"{spec.name}: invalid arguments or output: {validation_error_text(error)}"))
    return Outcome(error=error)


def _abandon(future: asyncio.Future[Any]) -> None:
    future.add_done_callback(_consume)
    if isinstance(future, asyncio.Task):
        # One that ignores cancellation may still be pending when its loop closes: that
        # is the point of abandoning it, so asyncio need not report it as destroyed.
        future._log_destroy_pending = False  # noqa: SLF001 - asyncio's own switch for this


def _consume(task: asyncio.Future[Any]) -> None:
    # Retrieve the abandoned call's result so asyncio does not warn about it.
    if not task.cancelled():
        task.exception()


ERROR_TEXT_MAX_CHARS = 2_000
"""The longest an error's text is recorded, in characters (as long as the API lets a rejection
reason be): a longer one is cut to its first 1,999 and :data:`~tools.redaction.CUT_MARK`, in
the step's row and attempt log, the ledger, the run's error and the log alike. (The run's
error adds ``step … failed:`` before it; a refusal may add ``; not retried: …`` after it.)"""

# How far past the cut a text is masked before it is cut: any secret that begins before the
# cut ends within it, so that none is cut in two (which would leave its start unmasked).
_MASKED_PAST_THE_CUT = 65_536


def cut_error_text(text: str, mask: Callable[[str], str] = str) -> str:
    """``text`` as an error is recorded: ``mask``-ed (secrets, characters the store cannot hold),
    then cut to :data:`ERROR_TEXT_MAX_CHARS` with the cut mark; only its beginning is masked
    (a 20 MB message costs no more than a short one)."""
    head = text[:ERROR_TEXT_MAX_CHARS + _MASKED_PAST_THE_CUT]
    shown = mask(head)
    if len(shown) <= ERROR_TEXT_MAX_CHARS and len(head) == len(text):
        return shown
    # Masked again after the cut: a secret crossing the head's end was not matched there,
    # and the copies masked before it, shrunk to the marker, may pull its start into what is
    # kept (masking knows a secret's start just before the cut mark). Cutting a masked text
    # once more can only drop characters, never show one.
    kept = mask(shown[:ERROR_TEXT_MAX_CHARS - len(CUT_MARK)] + CUT_MARK)
    return kept if len(kept) <= ERROR_TEXT_MAX_CHARS else (
        kept[:ERROR_TEXT_MAX_CHARS - len(CUT_MARK)] + CUT_MARK)


def error_text(error: BaseException, mask: Callable[[str], str] = str) -> str:
    """A one-line description of an attempt's error, masked with ``mask`` and cut
    (:func:`cut_error_text`)."""
    return cut_error_text(_described(error), mask)


def _described(error: BaseException) -> str:
    if isinstance(error, ToolError):
        return error.message
    try:
        message = str(error)
    except Exception as failure:  # noqa: BLE001 - a tool's broken __str__: the attempt fails
        return unrendered_message(error, failure)
    if isinstance(error, asyncio.TimeoutError):
        return message or "attempt timed out"
    return f"{type(error).__name__}: {message}"


def error_code(error: BaseException) -> str:
    """A stable code for an attempt's error: always text the store and the ledger hold (a
    code a tool set on its error after making it is made text as when it is made)."""
    if isinstance(error, ToolError):
        return code_text(error.code, ToolError.code)
    return transient_code(error) or "tool_crashed"
