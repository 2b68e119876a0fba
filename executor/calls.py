"""One tool call under a real timeout, and the payloads that describe calls in the ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import SecretBytes, SecretStr, ValidationError

from tools import ToolContext, ToolError, ToolInputError, ToolSpec

from tools.builtin.http import SECRET_REF

from .ledger import REDACTED


T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: an output, or the error it failed with."""

    output: dict[str, Any] | None = None
    error: BaseException | None = None


async def call_tool(spec: ToolSpec, args: Mapping[str, Any], context: ToolContext, *,
                    timeout_s: float, delay_s: float = 0.0,
                    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> Outcome:
    """Wait ``delay_s`` (a retry's backoff), then call the tool; never raises, never hangs.

    On timeout the call is cancelled and abandoned: a tool that ignores
    cancellation (or a sync tool still busy in its thread) no longer holds up
    the run.
    """
    if delay_s > 0:
        await sleep(delay_s)
    task = asyncio.ensure_future(spec.invoke(args, context))
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        task.cancel()
        task.add_done_callback(_consume)
        return Outcome(error=asyncio.TimeoutError(f"attempt timed out after {timeout_s:g}s"))
    try:
        return Outcome(output=task.result())
    except ValidationError as exc:
        return Outcome(error=ToolInputError(f"{spec.name}: invalid arguments or output: {exc}"))
    except Exception as exc:  # noqa: BLE001 - one attempt's failure, recorded with its step
        return Outcome(error=exc)


def _consume(task: asyncio.Future[Any]) -> None:
    # Retrieve the abandoned call's result so asyncio does not warn about it.
    if not task.cancelled():
        task.exception()


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
    the run is over, so its thread is left to finish on its own.
    """
    loop = asyncio.new_event_loop()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="baton-tool")
    loop.set_default_executor(pool)
    try:
        return loop.run_until_complete(coro)
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        pool.shutdown(wait=False, cancel_futures=True)
        loop.close()
