"""One tool call under a real timeout, and the payloads that describe calls in the ledger."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import queue
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import SecretBytes, SecretStr, ValidationError

from tools import ToolContext, ToolError, ToolInputError, ToolSpec
from tools.builtin.http import SECRET_REF
from tools.redaction import REDACTED

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: an output, or the error it failed with."""

    output: dict[str, Any] | None = None
    error: BaseException | None = None


async def call_tool(spec: ToolSpec, args: Mapping[str, Any], context: ToolContext, *,
                    timeout_s: float, delay_s: float = 0.0,
                    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                    threads: ToolThreads | None = None) -> Outcome:
    """Wait ``delay_s`` (a retry's backoff), then call the tool; never raises, never hangs.

    On timeout the call is cancelled and abandoned: a tool that ignores
    cancellation (or a sync tool still busy in its thread) no longer holds up
    the run. Sync tools run on ``threads`` (the shared :data:`TOOL_THREADS` by default).
    """
    if delay_s > 0:
        await sleep(delay_s)
    try:
        kwargs = spec.bind(args, context)
        if spec.is_async:
            raw = await _await_abandoning(spec.fn(**kwargs), timeout_s)
        else:
            # A future, not a coroutine: cancelling it on timeout returns at once,
            # whatever the thread does, so no task is needed to abandon it.
            future = (threads or TOOL_THREADS).submit(spec.fn, kwargs)
            deadline = asyncio.timeout(timeout_s)
            try:
                async with deadline:
                    raw = await future
            except TimeoutError:
                if deadline.expired():
                    raise _Expired from None
                raise
        return Outcome(output=spec.shape(raw))
    except _Expired:
        return Outcome(error=asyncio.TimeoutError(f"attempt timed out after {timeout_s:g}s"))
    except ValidationError as exc:
        return Outcome(error=ToolInputError(f"{spec.name}: invalid arguments or output: {exc}"))
    except Exception as exc:  # noqa: BLE001 - one attempt's failure, recorded with its step
        return Outcome(error=exc)


class _Expired(Exception):
    """The attempt's own deadline passed (not a TimeoutError the tool raised)."""


async def _await_abandoning(coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
    # A task of its own, waited on, not awaited: a coroutine that swallows the
    # cancellation must not keep the caller waiting.
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        task.cancel()
        task.add_done_callback(_consume)
        raise _Expired
    return task.result()


def _consume(task: asyncio.Future[Any]) -> None:
    # Retrieve the abandoned call's result so asyncio does not warn about it.
    if not task.cancelled():
        task.exception()


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
        self._idle = 0
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
                self._threads += 1
                threading.Thread(target=self._work, name="baton-tool", daemon=True).start()
        self._jobs.put((fn, kwargs, contextvars.copy_context(), loop, future))
        return future

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
            try:
                result, error = ctx.run(fn, **kwargs), None
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                result, error = None, exc
            with self._lock:
                self._idle += 1
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


def error_text(error: BaseException) -> str:
    """A one-line description of an attempt's error."""
    if isinstance(error, ToolError):
        return error.message
    if isinstance(error, asyncio.TimeoutError):
        return str(error) or "attempt timed out"
    return f"{type(error).__name__}: {error}"


def error_code(error: BaseException) -> str:
    """A stable code for an attempt's error."""
    if isinstance(error, ToolError):
        return error.code
    if isinstance(error, asyncio.TimeoutError):
        return "timeout"
    return "tool_crashed"


def secret_fields(spec: ToolSpec) -> frozenset[str]:
    """Names of the tool's arguments typed as secrets (their values never reach the ledger)."""
    names = set()
    for name, info in spec.input_model.model_fields.items():
        annotation = str(info.annotation)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "SecretStr" in annotation or "SecretBytes" in annotation or extra.get("secret"):
            names.add(info.alias or name)
        elif info.annotation in (SecretStr, SecretBytes):
            names.add(info.alias or name)
    return frozenset(names)


def referenced_secrets(args: Any) -> tuple[str, ...]:
    """Names of configured secrets (``${secret:NAME}``) in any string of ``args``, sorted; never values."""
    found: set[str] = set()
    stack = [args]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "${secret:" in value:
                found.update(SECRET_REF.findall(value))
        elif isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return tuple(sorted(found))


def mask_args(args: Mapping[str, Any], secret_names: frozenset[str]) -> dict[str, Any]:
    """``args`` with the values of secret-typed arguments replaced by a marker."""
    if not secret_names:
        return dict(args)
    return {k: (REDACTED if k in secret_names else v) for k, v in args.items()}


def run_in_loop(coro: Awaitable[T], *, threads: int) -> T:
    """Run ``coro`` in a fresh loop whose tool threads are abandoned, not joined, at the end.

    ``asyncio.run`` would wait for a sync tool still sleeping past its timeout;
    the run is over, so its thread is left to finish on its own. Objects that
    exist before the run are kept out of the collector's scans while it runs
    (``gc.freeze``), and handed back to it afterwards.
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
