"""An ``async def`` tool that blocks the event loop (``time.sleep``, CPU work without an await)
cannot be cut off at its limit, but the limit still holds after the fact: an attempt that
ended after its limit counts as timed out (retried, or not, as a timeout is), and a warning
names the tool and how long it held the loop.

Such a tool used to be recorded as succeeded, however long past its limit it returned.
"""

from __future__ import annotations

import asyncio
import time

from structlog.testing import capture_logs

from executor.checks import StepCall, StepDecision
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from tests.executor.runsupport import Sleeps, make_runner, run_plan
from tools import Effect, ToolRegistry

LIMIT_S = 0.3
BLOCK_S = 0.8


class AllowAll:
    """A runtime check that allows every call."""

    def check_step(self, call: StepCall) -> StepDecision:
        """Allow."""
        return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)


def _registry(calls: list[str]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("x.spin", timeout_s=LIMIT_S, idempotent=True)
    async def spin(tag: str = "") -> dict:
        """Blocks the loop past its limit on its first call, then returns at once."""
        calls.append(tag)
        if len(calls) == 1:
            time.sleep(BLOCK_S)
        return {"spun": len(calls)}

    @registry.tool("x.spin_then_wait", timeout_s=LIMIT_S, idempotent=True)
    async def spin_then_wait() -> dict:
        """Blocks the loop past its limit, then waits politely."""
        calls.append("wait")
        time.sleep(BLOCK_S)
        await asyncio.sleep(30)
        return {}

    @registry.tool("x.spin_write", timeout_s=LIMIT_S, effect=Effect.WRITE)
    async def spin_write() -> dict:
        """A write that is not idempotent and blocks the loop past its limit."""
        calls.append("write")
        time.sleep(BLOCK_S)
        return {"written": True}

    @registry.tool("x.quick", timeout_s=LIMIT_S)
    async def quick() -> dict:
        """Blocks the loop briefly, well within its limit."""
        time.sleep(0.01)
        await asyncio.sleep(0)
        return {"ok": True}

    return registry


def _blocked(logs: list[dict], tool: str) -> list[dict]:
    return [e for e in logs if e["event"] == "an async tool blocked the event loop past its "
            "time limit" and e["tool"] == tool]


def _one(tool: str, attempts: int) -> dict:
    return {"goal": "g", "steps": [{"id": "s", "tool": tool, "retry": {
        "max_attempts": attempts, "initial_backoff_s": 0.1, "jitter": 0.0}}]}


def test_an_async_tool_that_returns_after_blocking_past_its_limit_timed_out(engine, tmp_path):
    calls: list[str] = []
    runner = make_runner(engine, _registry(calls), tmp_path, sleep=Sleeps())
    with capture_logs() as logs:
        record = run_plan(runner, engine, _one("x.spin", 1))
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.status is StepStatus.FAILED and step.output is None
    assert step.error.startswith(f"attempt timed out after {LIMIT_S:g}s (x.spin held the event "
                                 "loop for "), step.error
    assert step.error.endswith("s without awaiting, so its limit could not cut it off)")
    failure = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])[-1]
    assert failure.payload["code"] == "timeout"
    (warning,) = _blocked(logs, "x.spin")
    assert warning["log_level"] == "warning" and warning["blocked_s"] >= BLOCK_S - 0.05
    assert warning["timeout_s"] == LIMIT_S
    assert (warning["run_id"], warning["step_id"], warning["attempt"]) == (record.id, "s", 1)


def test_it_is_retried_as_a_timeout_is(engine, tmp_path):
    calls: list[str] = []
    sleeps = Sleeps()
    runner = make_runner(engine, _registry(calls), tmp_path, sleep=sleeps)
    record = run_plan(runner, engine, _one("x.spin", 2))
    assert record.status is RunStatus.SUCCEEDED
    (step,) = record.steps
    assert step.attempts == 2 and step.output == {"value": {"spun": 2}} and len(sleeps.delays) == 1


def test_a_write_that_is_not_idempotent_is_not_called_again_after_it(engine, tmp_path):
    calls: list[str] = []
    runner = make_runner(engine, _registry(calls), tmp_path, sleep=Sleeps(),
                         runtime_check=AllowAll())
    record = run_plan(runner, engine, _one("x.spin_write", 3))
    assert record.status is RunStatus.FAILED and calls == ["write"]
    assert record.steps[0].error.endswith(
        "; not retried: x.spin_write is not idempotent, the first call may still have its "
        "effect")


def test_one_that_blocks_then_awaits_is_cut_off_and_named_too(engine, tmp_path):
    calls: list[str] = []
    runner = make_runner(engine, _registry(calls), tmp_path, sleep=Sleeps())
    with capture_logs() as logs:
        record = run_plan(runner, engine, _one("x.spin_then_wait", 1))
    assert record.status is RunStatus.FAILED
    assert record.steps[0].error == f"attempt timed out after {LIMIT_S:g}s"
    assert len(_blocked(logs, "x.spin_then_wait")) == 1


def test_an_async_tool_that_ends_within_its_limit_is_not_named(engine, tmp_path):
    runner = make_runner(engine, _registry([]), tmp_path)
    with capture_logs() as logs:
        record = run_plan(runner, engine, _one("x.quick", 1))
    assert record.status is RunStatus.SUCCEEDED
    assert record.steps[0].output == {"value": {"ok": True}}
    assert not _blocked(logs, "x.quick")
