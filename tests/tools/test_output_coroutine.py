"""A coroutine in a tool's output, never awaited, is refused by name and closed.

A plain ``def`` decorator around an ``async def`` tool registers (``functools.wraps`` copies
the signature), then every call returned the coroutine: the output check said
"input_value=<coroutine object ...>" or "Unable to serialize unknown type: <class
'coroutine'>", and Python "coroutine ... was never awaited". A decorator that runs the
coroutine itself (``asyncio.run``) is a fine tool, so this is found in the output, not at
registration.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import warnings
from typing import Any

import pytest
from pydantic import BaseModel

from tools import ToolContext, ToolError, ToolRegistry

CTX = ToolContext(idempotency_key="k")
ADVICE = "make the function, or the decorator's wrapper, async def and await the call"


def plain_wrapper(fn: Any) -> Any:
    """The decorator of the report: sync, so it hands back the coroutine ``fn`` gives."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)
    return wrapper


class Total(BaseModel):
    total: int


async def _twice(x: int) -> int:
    """Twice x."""
    return 2 * x


def _registered(fn: Any) -> ToolRegistry:
    registry = ToolRegistry()
    registry.register_function(fn, name="x.out", idempotent=True)
    return registry


def _refusal(fn: Any, args: dict[str, Any]) -> ToolError:
    registry = _registered(fn)
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        with pytest.raises(ToolError) as caught:
            asyncio.run(registry.get("x.out").invoke(args, CTX))
        error = caught.value
        del caught
        error.__traceback__ = None  # its frames hold the output, and so the coroutine
        gc.collect()  # a coroutine left open warns when it is collected
    assert error.code == "tool_output_coroutine", error
    assert not error.retryable
    assert ADVICE in str(error)
    assert not [w for w in caught_warnings if "never awaited" in str(w.message)]
    return error


def test_a_plain_decorator_around_an_async_tool_is_refused_naming_the_coroutine():
    @plain_wrapper
    async def twice(x: int) -> int:
        """Twice x."""
        return 2 * x

    error = _refusal(twice, {"x": 1})
    assert str(error).startswith("x.out: output field value is a coroutine, never awaited"), error


def test_a_coroutine_where_a_model_or_anything_is_returned_is_refused():
    @plain_wrapper
    async def total(x: int) -> Total:
        """The total."""
        return Total(total=x)

    @plain_wrapper
    async def anything(x: int) -> Any:
        """Anything."""
        return x

    assert "output field (the whole output) is a coroutine" in str(_refusal(total, {"x": 1}))
    assert "output field value is a coroutine" in str(_refusal(anything, {"x": 1}))


def test_coroutines_inside_an_async_tools_output_are_refused_by_their_path():
    async def many(n: int) -> Any:
        """Forgets to await (the walk stops at the first coroutine: one is closed)."""
        return {"rows": [n, _twice(n)]}

    assert "output field value.rows[1] is a coroutine" in str(_refusal(many, {"n": 2}))


def test_a_coroutine_is_refused_on_the_event_loop_check_too_and_closed():
    # The executor checks a light output on the event loop (prechecked), not in a thread.
    spec = _registered(plain_wrapper(_twice)).get("x.out")
    coroutine = _twice(1)
    with pytest.raises(ToolError) as caught:
        spec.prechecked(coroutine)
    assert caught.value.code == "tool_output_coroutine"
    assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED


def test_a_sync_decorator_that_runs_the_coroutine_itself_is_a_working_tool():
    def run_here(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return asyncio.run(fn(*args, **kwargs))
        return wrapper

    registry = _registered(run_here(_twice))
    assert asyncio.run(registry.get("x.out").invoke({"x": 3}, CTX)) == {"value": 6}
