"""A run stopped mid-turn (a database failure, Ctrl-C) commits the results it settled, not the
starts it had queued for the turn's commit: their tools were never called, and a start
committed reads as a call that may have been made (a write that is not idempotent would be
refused "may have had its effect" by the next owner)."""
from __future__ import annotations

from typing import Any

import pytest

from executor.artifact_rows import DatabaseArtifactStore
from executor.checks import StepDecision
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.runner import Runner
from executor.scheduling import StepStatus
from executor.store.db import StoreError, make_engine
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tools import Effect, RetryableToolError, RetryPolicy, ToolContext, ToolRegistry


class AllowAll:
    def check_step(self, call: Any) -> StepDecision:
        return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)


def _registry(calls: list[str]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("big")
    def big() -> str:
        """An output stored as an artifact."""
        calls.append("big")
        return "x" * 100

    @registry.tool("write", effect=Effect.WRITE, idempotent=False)
    def write() -> int:
        """A write, not idempotent."""
        calls.append("write")
        return 1

    @registry.tool("size")
    def size(text: str) -> int:
        """The length of a text."""
        calls.append("size")
        return len(text)

    return registry


PLAN = Plan.model_validate({"goal": "g", "steps": [
    {"id": "a", "tool": "big"},
    {"id": "w", "tool": "write", "depends_on": ["a"]},
    {"id": "b", "tool": "size", "args": {"text": {"ref": "a.value"}}}]})


def test_a_write_queued_when_the_database_fails_is_started_afresh(engine, tmp_path):
    calls: list[str] = []
    artifacts = DatabaseArtifactStore(engine, tmp_path / "artifacts", threshold_bytes=32)
    gone = tmp_path / "gone"
    dead = make_engine(f"sqlite:///{gone / 'baton.db'}")
    gone.rmdir()

    def dies(progress: Any) -> None:  # a settles, w's start is queued, b's artifact read fails
        if progress.step_id == "a" and progress.status is StepStatus.SUCCEEDED:
            artifacts.engine = dead

    runner = Runner(engine, Ledger(engine), _registry(calls), AllowAll(), artifacts=artifacts,
                    observer=dies, concurrency=2)
    run_id = runner.create_run(approved_plan(engine, PLAN), 1, PLAN, requested_by="alice")
    with pytest.raises(StoreError):
        runner.run_sync(run_id)
    stopped = {s.step_id: s for s in runner.store.get(run_id).steps}
    assert calls == ["big"]
    assert stopped["a"].status is StepStatus.SUCCEEDED  # the settled result committed
    assert stopped["w"].attempt_log == ()  # its start left out: never called
    runner.observer = None
    artifacts.engine = engine
    resumed = runner.resume_sync(run_id)
    assert resumed.status is RunStatus.SUCCEEDED, resumed.error
    assert sorted(calls) == ["big", "size", "write"]


def test_a_write_queued_when_the_process_is_interrupted_is_started_afresh(engine, tmp_path):
    """Ctrl-C while c is checked, w's start queued in the same turn."""
    calls: list[str] = []
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "big"},
        {"id": "w", "tool": "write", "depends_on": ["a"]},
        {"id": "c", "tool": "write", "depends_on": ["a"]}]})

    class Interrupting:
        armed = True

        def check_step(self, call: Any) -> StepDecision:
            if self.armed and call.step_id == "c":
                raise KeyboardInterrupt
            return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)

    check = Interrupting()
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=check,
                         concurrency=2)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(KeyboardInterrupt):
        runner.run_sync(run_id)
    stopped = {s.step_id: s for s in runner.store.get(run_id).steps}
    assert stopped["a"].status is StepStatus.SUCCEEDED
    assert stopped["w"].attempt_log == ()
    check.armed = False
    resumed = runner.resume_sync(run_id)
    assert resumed.status is RunStatus.SUCCEEDED, resumed.error
    assert calls == ["big", "write", "write"]


def test_a_retry_waiting_its_backoff_when_the_turn_stops_keeps_its_wait(engine, tmp_path):
    # Its start is journalled as not called yet: kept, so the next owner waits what is left
    # of the backoff (a server's Retry-After too) instead of calling at once.
    registry = ToolRegistry()
    attempts: list[int] = []

    @registry.tool("flaky", effect=Effect.WRITE, idempotent=False,
                   retry=RetryPolicy(max_attempts=2, initial_backoff_s=30, max_backoff_s=60,
                                     jitter=0))
    def flaky(context: ToolContext) -> int:
        """Refused at its first attempt, nothing done."""
        attempts.append(context.attempt)
        if context.attempt == 1:
            raise RetryableToolError("503, nothing done")
        return 2

    @registry.tool("quick")
    def quick() -> int:
        """A read."""
        return 1

    @registry.tool("note", effect=Effect.WRITE, idempotent=True)
    def note() -> int:
        """A write whose check stops the run."""
        return 1

    class StopAtNote:
        armed = True

        def check_step(self, call: Any) -> StepDecision:
            if self.armed and call.step_id == "c":
                raise KeyboardInterrupt
            return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)

    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "r", "tool": "flaky"}, {"id": "a", "tool": "quick"},
        {"id": "c", "tool": "note", "depends_on": ["a"]}]})
    check = StopAtNote()
    waited: list[float] = []

    async def recorded(delay_s: float) -> None:
        waited.append(delay_s)

    runner = make_runner(engine, registry, tmp_path, runtime_check=check, concurrency=3,
                         sleep=recorded)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(KeyboardInterrupt):
        runner.run_sync(run_id)
    check.armed = False
    waited.clear()
    resumed = runner.resume_sync(run_id)
    assert resumed.status is RunStatus.SUCCEEDED
    assert len(attempts) == 2  # called once more, after the wait
    assert waited and max(waited) > 25, waited  # the rest of the 30 s backoff
