"""A tool's output is checked and shaped within its attempt, under its limit, off the event loop
when reading or writing it runs code of the tool's own.

``Call.outcome`` shaped the output on the event loop, after the attempt had ended: an output
the checks did not see through (a model with a serializer, sharing one list at each of 40
levels) was written out there with nothing able to cut it off. The step's limit never fired,
the lease was not renewed and memory grew until the process was killed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel, field_serializer, field_validator

from executor.calls import call_tool
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from executor.tool_threads import NO_THREAD, ToolThreads
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolContext, ToolRegistry

LIMIT_S = 0.3
SLOW_S = 1.5
CONTEXT = ToolContext(idempotency_key="k-1", run_id="r-1", step_id="s-1", attempt=1)


WRITING = threading.Semaphore(0)  # released by each slow write that ended


class SlowToWrite(BaseModel):
    n: int

    @field_serializer("n")
    def _slowly(self, n: int) -> int:  # a serializer of the tool's own, which no check sees into
        time.sleep(SLOW_S)
        WRITING.release()
        return n


@pytest.fixture
def slow_writes_end():
    """Wait for the abandoned slow writes, so that none is still inside pydantic's serializer
    (native code) when the interpreter exits."""
    yield
    for _ in range(2):  # the output is written twice: as Python data, then as JSON
        WRITING.acquire(timeout=2 * SLOW_S)


class Stamped(BaseModel):
    when: int
    data: list[Any]

    @field_serializer("when")
    def _when(self, when: int) -> int:
        return when


def _registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("x.slow_sync", timeout_s=LIMIT_S)
    def slow_sync() -> SlowToWrite:
        """Returns at once an output that takes long to write."""
        return SlowToWrite(n=1)

    @registry.tool("x.slow_async", timeout_s=LIMIT_S)
    async def slow_async() -> SlowToWrite:
        """Returns at once an output that takes long to write."""
        return SlowToWrite(n=1)

    @registry.tool("x.shared", timeout_s=2.0)
    def shared() -> Stamped:
        """Returns rows sharing one list at each of 40 levels (2**40 items written out)."""
        data: Any = [1]
        for _ in range(40):
            data = [data, data]
        return Stamped(when=1, data=data)

    return registry


def _one(tool: str) -> dict[str, Any]:
    return {"goal": "g", "steps": [{"id": "s", "tool": tool, "retry": {"max_attempts": 1}}]}


@pytest.mark.parametrize("tool", ["x.slow_sync", "x.slow_async"])
def test_an_output_that_takes_longer_to_write_than_the_limit_times_out(engine, tmp_path, tool,
                                                                      slow_writes_end):
    record = run_plan(make_runner(engine, _registry(), tmp_path), engine, _one(tool))
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.status is StepStatus.FAILED and step.output is None
    assert step.error == f"attempt timed out after {LIMIT_S:g}s"
    failure = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])[-1]
    assert failure.payload["code"] == "timeout"


@pytest.mark.timeout(60)
def test_a_model_with_a_serializer_sharing_a_list_at_40_levels_fails_its_step(engine, tmp_path):
    record = run_plan(make_runner(engine, _registry(), tmp_path), engine, _one("x.shared"))
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.error.startswith("x.shared: output field data[0][0]")
    failure = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])[-1]
    assert failure.payload["code"] == "tool_output_too_large"


def test_an_async_tool_whose_output_finds_no_thread_free_says_it_was_called():
    registry = ToolRegistry()

    @registry.tool("x.quick")
    async def quick() -> Stamped:
        """Returns at once an output with a serializer of its own (shaped in a thread)."""
        return Stamped(when=1, data=[])

    release = threading.Event()

    async def main() -> Any:
        threads = ToolThreads(max_threads=1)
        stuck = threads.start(release.wait, {}, "x.stuck")
        await asyncio.sleep(0.05)  # its thread has taken it
        stuck.abandon()  # its caller gave up: the one thread is held by a stuck tool
        try:
            return await call_tool(registry.get("x.quick"), {}, CONTEXT, timeout_s=5,
                                   threads=threads)
        finally:
            release.set()

    outcome = asyncio.run(main())
    assert outcome.error is not None and outcome.error.code == NO_THREAD
    assert str(outcome.error).startswith("x.quick returned, but no tool thread was free to "
                                         "check its output: all 1 are held by sync tools")
    assert "x.stuck: 1" in str(outcome.error)


class Plain(BaseModel):
    rows: list[dict[str, Any]]


class Validated(BaseModel):
    rows: list[Any]

    @field_validator("rows")
    @classmethod
    def _same(cls, rows: list[Any]) -> list[Any]:
        return rows


class Holder(BaseModel):
    inner: Any


@pytest.mark.parametrize(("output", "own_code"), [
    pytest.param({"rows": [{"a": 1}]}, False, id="plain-data"),
    pytest.param(Plain(rows=[{"a": 1}]), False, id="plain-model"),
    pytest.param(Stamped(when=1, data=[]), True, id="field-serializer"),
    pytest.param(Validated(rows=[1]), True, id="validator"),
    pytest.param(Holder(inner={"x": [Stamped(when=1, data=[])]}), True, id="held-in-any"),
])
def test_only_an_output_that_runs_code_of_the_tools_own_is_shaped_off_the_loop(output, own_code):
    registry = ToolRegistry()

    def out() -> Any:
        """Returns the output under test."""
        return output

    out.__annotations__["return"] = type(output) if isinstance(output, BaseModel) else Any
    registry.register_function(out, name="x.out")
    assert registry.get("x.out").prechecked(output)[1] is own_code
