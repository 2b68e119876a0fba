"""How the loop ends what goes wrong around a step rather than in its tool.

A tool's ``effect_from_args`` that raises fails its step as a preparation error; the
database failing while an artifact is read stops the run, which a resume finishes; and a
cancel seen after a takeover ends the step killed in flight failed, as ``baton cancel``
of a dead owner's run does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session

from executor.artifact_rows import DatabaseArtifactStore
from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from executor.runner import Runner
from executor.scheduling import StepStatus
from executor.store.claims import CANCELLED_IN_FLIGHT
from executor.store.db import StoreError, make_engine
from executor.store.schema import RunRow, StepRunRow
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, run_plan
from tools import Effect, ToolRegistry


def _effect_of_mode(args: dict[str, Any]) -> Effect:
    # Written for a string: a reference that resolves to null breaks it.
    return Effect.WRITE if args.get("mode", "read").startswith("w") else Effect.READ


def test_an_effect_from_args_that_raises_fails_the_step_as_a_preparation_error(engine, tmp_path):
    registry = ToolRegistry()

    @registry.tool("find")
    def find() -> dict[str, Any]:
        """Finds a mode, which may be absent."""
        return {"mode": None}

    @registry.tool("act", effect_from_args=_effect_of_mode)
    def act(mode: str | None = None) -> int:
        """Acts in a mode."""
        return 1

    record = run_plan(make_runner(engine, registry, tmp_path), engine, {"goal": "g", "steps": [
        {"id": "a", "tool": "find"},
        {"id": "b", "tool": "act", "args": {"mode": {"ref": "a.value.mode"}}}]})
    assert record.status is RunStatus.FAILED
    step = record.steps[1]
    assert step.status is StepStatus.FAILED
    assert step.error == ("act: its effect could not be decided from its arguments "
                          "(AttributeError: 'NoneType' object has no attribute 'startswith')")
    assert record.error == f"step b failed: {step.error}"
    failure = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])[-1]
    assert failure.payload["code"] == "preparation" and not failure.payload["retryable"]


def test_a_database_failure_reading_an_artifact_stops_the_run_for_a_resume(engine, tmp_path):
    """Like any other database failure: not the step's fault, so it must not fail it for good."""
    registry = ToolRegistry()
    calls: list[str] = []

    @registry.tool("big")
    def big() -> str:
        """An output stored as an artifact."""
        calls.append("big")
        return "x" * 100

    @registry.tool("size")
    def size(text: str) -> int:
        """The length of a text."""
        calls.append("size")
        return len(text)

    artifacts = DatabaseArtifactStore(engine, tmp_path / "artifacts", threshold_bytes=32)
    gone = tmp_path / "gone"
    dead = make_engine(f"sqlite:///{gone / 'baton.db'}")
    gone.rmdir()  # nothing can open the database file now

    died: list[bool] = []

    def database_dies_once_a_is_stored(progress: Any) -> None:
        if progress.step_id == "a" and progress.status is StepStatus.SUCCEEDED and not died:
            died.append(True)
            artifacts.engine = dead

    runner = Runner(engine, Ledger(engine), registry, artifacts=artifacts,
                    observer=database_dies_once_a_is_stored)
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "big"},
        {"id": "b", "tool": "size", "args": {"text": {"ref": "a.value"}}}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(StoreError, match="the database failed while reading artifact"):
        runner.run_sync(run_id)
    stopped = runner.store.get(run_id)
    assert stopped.status is RunStatus.RUNNING
    assert stopped.steps[1].status is StepStatus.PENDING and stopped.steps[1].attempts == 0

    artifacts.engine = engine  # the database is back
    resumed = runner.resume_sync(run_id)
    assert resumed.status is RunStatus.SUCCEEDED
    assert resumed.steps[1].output == {"value": 100}
    # a's result, settled in the turn that stopped, was committed before the run stopped
    # (StepLoop._keep_settled): a is not run again, b once.
    assert stopped.steps[0].status is StepStatus.SUCCEEDED
    assert calls == ["big", "size"]
    assert Ledger(engine).verify().ok


@pytest.mark.parametrize("how", ["resume", "worker"])
def test_a_cancel_seen_after_a_takeover_ends_the_step_killed_in_flight_failed(engine, tmp_path,
                                                                               how):
    """Cancel asked, the owner killed before it saw the flag, the run taken over: the run ends
    cancelled and the step that was in flight ends failed, never "pending" in a final run."""
    registry = ToolRegistry()

    @registry.tool("one")
    def one() -> int:
        """One."""
        return 1

    runner = make_runner(engine, registry, tmp_path)
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "one"}, {"id": "b", "tool": "one", "depends_on": ["a"]}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    with Session(engine) as s:  # as its owner left it when killed mid-call
        s.execute(update(RunRow).where(RunRow.id == run_id).values(
            owner="gone-host:1:x", status="running", started_at=datetime.now(UTC),
            lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.execute(update(StepRunRow).where(StepRunRow.run_id == run_id,
                                           StepRunRow.step_id == "a").values(
            status="running", attempts=1, started_at=datetime.now(UTC),
            attempt_log='[{"attempt": 1, "status": "started", '
                        '"started_at": "2026-12-05T10:00:00+00:00"}]'))
        s.commit()
    assert runner.store.request_cancel(run_id, actor="carol") is not None

    if how == "resume":
        runner.resume_sync(run_id)
    else:
        assert runner.worker(once=True) == 1
    record = runner.store.get(run_id)
    assert record.status is RunStatus.CANCELLED and record.error is None
    first, second = record.steps
    assert first.status is StepStatus.FAILED and first.ended_at is not None
    assert first.error == CANCELLED_IN_FLIGHT
    assert [a.status for a in first.attempt_log] == [AttemptStatus.INTERRUPTED]
    assert second.status is StepStatus.PENDING and second.ended_at is None  # never started
    ledger = Ledger(engine)
    assert [e.kind for e in ledger.events(subject=run_id)][-3:] == [
        "run_resume", "run_cancel", "run_end"]
    assert ledger.events(subject=run_id, kinds=["run_cancel"])[0].payload == {"interrupted": ["a"]}
    assert ledger.verify().ok
