"""An async tool's output is checked and shaped under the attempt's limit, and code of the
tool's own that reading it runs (a computed field) never runs on the event loop.

The size check read an output model's computed fields on the event loop, before anything was
handed to a tool thread: a slow one stalled every other step, an endless one the whole run,
and a ``sys.exit()`` in one left the event loop and ended the process, the run left
``running``. An output of plain lists sharing one list at each of 20 levels was shaped on the
loop too, for seconds, and its step succeeded past its limit.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from pydantic import BaseModel, computed_field, field_serializer

from executor.calls import call_tool, error_code, error_text
from executor.records import RunStatus
from executor.scheduling import StepStatus
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolContext, ToolRegistry

CONTEXT = ToolContext(idempotency_key="k-1", run_id="r-1", step_id="s-1", attempt=1)
EXITS = [SystemExit("computed field gave up"), KeyboardInterrupt("computed field gave up")]


def _registry(output: Any, *, kind: str = "async", timeout_s: float = 5.0) -> ToolRegistry:
    registry = ToolRegistry()
    if kind == "sync":
        @registry.tool("x.out", timeout_s=timeout_s)
        def out() -> Any:
            """Returns the output under test."""
            return output()
    else:
        @registry.tool("x.out", timeout_s=timeout_s)
        async def out() -> Any:
            """Returns the output under test."""
            return output()
    return registry


def _call(registry: ToolRegistry, timeout_s: float = 5.0) -> Any:
    return asyncio.run(call_tool(registry.get("x.out"), {}, CONTEXT, timeout_s=timeout_s))


def _exiting_field(exc: BaseException) -> BaseModel:
    class Out(BaseModel):
        n: int

        @computed_field  # type: ignore[prop-decorator]
        @property
        def total(self) -> int:
            raise exc

    return Out(n=1)


def _exiting_serializer(exc: BaseException) -> BaseModel:
    class Out(BaseModel):
        n: int

        @field_serializer("n")
        def _n(self, n: int) -> int:
            raise exc

    return Out(n=1)


@pytest.mark.parametrize("exc", EXITS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_system_exit_in_a_computed_field_fails_the_attempt(kind, exc):
    outcome = _call(_registry(lambda: _exiting_field(exc), kind=kind))
    assert outcome.error is exc
    assert error_code(outcome.error) == "tool_crashed"
    assert error_text(outcome.error) == f"{type(exc).__name__}: computed field gave up"


@pytest.mark.parametrize("exc", EXITS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_system_exit_in_a_serializer_fails_the_attempt(kind, exc):
    # pydantic reports what a serializer raised as its own error.
    outcome = _call(_registry(lambda: _exiting_serializer(exc), kind=kind))
    assert error_code(outcome.error) == "tool_crashed"
    assert f"{type(exc).__name__}: computed field gave up" in error_text(outcome.error)


def test_a_run_whose_output_calls_sys_exit_fails_its_step_and_ends(engine, tmp_path):
    registry = _registry(lambda: _exiting_field(SystemExit("computed field gave up")))
    record = run_plan(make_runner(engine, registry, tmp_path), engine, {
        "goal": "g", "steps": [{"id": "s", "tool": "x.out", "retry": {"max_attempts": 1}}]})
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.status is StepStatus.FAILED
    assert step.error == "SystemExit: computed field gave up"


class Watched(BaseModel):
    """A model whose computed field notes the thread it is read in, and waits for ``GATE``."""

    n: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        READ_IN.append(threading.get_ident())
        GATE.wait(timeout=10)
        return self.n


READ_IN: list[int] = []
GATE = threading.Event()


@pytest.fixture
def gate():
    READ_IN.clear()
    GATE.clear()
    yield GATE
    GATE.set()  # the abandoned read ends


def _loop_thread_and(coro_factory: Any) -> tuple[int, Any]:
    async def main() -> tuple[int, Any]:
        return threading.get_ident(), await coro_factory()
    return asyncio.run(main())


def test_a_computed_field_of_an_async_tools_output_is_read_off_the_event_loop(gate):
    gate.set()
    spec = _registry(lambda: Watched(n=1)).get("x.out")
    loop_thread, outcome = _loop_thread_and(
        lambda: call_tool(spec, {}, CONTEXT, timeout_s=5))
    assert outcome.error is None and outcome.output == {"value": {"n": 1, "total": 1}}
    assert READ_IN and loop_thread not in READ_IN


def test_a_computed_field_that_never_returns_times_the_attempt_out(gate):
    outcome = _call(_registry(lambda: Watched(n=1), timeout_s=0.2), timeout_s=0.2)
    assert isinstance(outcome.error, TimeoutError)
    assert error_text(outcome.error) == "attempt timed out after 0.2s"


def _shared(levels: int) -> dict[str, Any]:
    node: Any = 1
    for _ in range(levels):
        node = [node, node]
    return {"rows": node}


def test_an_output_written_out_at_length_is_shaped_off_the_event_loop(shaped_in):
    spec = _registry(lambda: _shared(15)).get("x.out")  # 2**15 items
    loop_thread, outcome = _loop_thread_and(
        lambda: call_tool(spec, {}, CONTEXT, timeout_s=30))
    assert outcome.error is None
    assert shaped_in and loop_thread not in shaped_in


def test_a_small_output_is_shaped_on_the_event_loop(shaped_in):
    spec = _registry(lambda: {"n": 1, "rows": [{"a": "b"}] * 10}).get("x.out")
    loop_thread, outcome = _loop_thread_and(
        lambda: call_tool(spec, {}, CONTEXT, timeout_s=30))
    assert outcome.output == {"value": {"n": 1, "rows": [{"a": "b"}] * 10}}
    assert shaped_in == [loop_thread]


def test_an_output_that_takes_longer_to_shape_than_the_limit_times_out():
    # Shaping 2**16 items takes about half a second; the limit is a tenth of that.
    outcome = _call(_registry(lambda: _shared(16), timeout_s=0.05), timeout_s=0.05)
    assert isinstance(outcome.error, TimeoutError)
