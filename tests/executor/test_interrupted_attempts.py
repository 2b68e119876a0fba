"""A step whose attempts were interrupted (its owner died with the call in flight): taken over,
it is called again only while its retry budget lasts, and never when the call may already have
had an effect that a second call would repeat (a write that is neither idempotent nor sends
the step's key). A person resuming the failed run calls it again deliberately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from executor.records import AttemptStatus, RunStatus
from executor.store import attempt_log
from executor.store.schema import RunRow, StepRunRow
from planner.plan import Plan
from tests.executor.runsupport import HostCheck, approved_plan, make_runner
from tools import Effect, RetryPolicy, ToolContext, ToolRegistry

AT = "2026-11-29T12:00:00+00:00"
DEAD_OWNER = "gone-host:1:x"


def _registry(calls: list[tuple[str, int]]) -> ToolRegistry:
    registry = ToolRegistry()
    budget = RetryPolicy(max_attempts=3, initial_backoff_s=0, jitter=0)

    @registry.tool("crm.note", effect=Effect.WRITE, retry=budget)
    def note(context: ToolContext) -> str:
        """A write that is neither idempotent nor sends the step's key."""
        calls.append(("crm.note", context.attempt))
        return "noted"

    @registry.tool("crm.put", effect=Effect.WRITE, idempotent=True, retry=budget)
    def put(context: ToolContext) -> str:
        """An idempotent write: calling it again is safe."""
        calls.append(("crm.put", context.attempt))
        return "put"

    @registry.tool("crm.read", retry=budget)
    def read(context: ToolContext) -> str:
        """A read."""
        calls.append(("crm.read", context.attempt))
        return "read"

    return registry


def _runner(engine, calls: list[tuple[str, int]], tmp_path):
    # Writes need a runtime check to run at all: one that allows every call.
    return make_runner(engine, _registry(calls), tmp_path, runtime_check=HostCheck(""))


def _crashed_run(engine, tmp_path, tool: str, log: list[dict], calls):
    """A run of one ``tool`` step left by a dead owner with ``log`` as its attempts."""
    runner = _runner(engine, calls, tmp_path)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": tool}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice", detach=True)
    with Session(engine) as s:
        s.execute(update(StepRunRow).where(StepRunRow.run_id == run_id, StepRunRow.step_id == "a")
                  .values(attempt_log=attempt_log.dumps(log), attempts=len(log), status="running"))
        s.execute(update(RunRow).where(RunRow.id == run_id).values(
            owner=DEAD_OWNER, status="running",
            lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    return run_id


def _interrupted(n: int) -> list[dict]:
    """``n - 1`` attempts interrupted by earlier takeovers, and the one in flight now."""
    done = [{"attempt": i, "status": "interrupted", "started_at": AT, "ended_at": AT,
             "error": attempt_log.INTERRUPTED_ERROR} for i in range(1, n)]
    return [*done, {"attempt": n, "status": "started", "started_at": AT}]


def test_a_step_interrupted_as_often_as_its_budget_allows_fails_instead_of_being_called_again(
        engine, tmp_path):
    calls: list[tuple[str, int]] = []
    run_id = _crashed_run(engine, tmp_path, "crm.read", _interrupted(4), calls)
    record = _runner(engine, calls, tmp_path).resume_sync(run_id)
    assert calls == []  # a call that kills its owner is not made once per lease, forever
    assert record.status is RunStatus.FAILED
    step = record.steps[0]
    assert step.error is not None and "interrupted 4 times" in step.error
    assert "more than max_attempts 3" in step.error
    assert [a.status for a in step.attempt_log] == [AttemptStatus.INTERRUPTED] * 4 + [
        AttemptStatus.FAILED]
    # A person who resumes the failed run (the cause fixed) gives it a fresh budget.
    record = _runner(engine, calls, tmp_path).resume_sync(run_id)
    assert record.status is RunStatus.SUCCEEDED and calls == [("crm.read", 6)]


@pytest.mark.parametrize("interrupted", [1, 3])
def test_a_step_interrupted_no_more_than_its_budget_is_called_again(engine, tmp_path, interrupted):
    # The call in flight is made again even when a budget of 1 was all it had: resuming
    # where the run stopped is the point of a takeover.
    calls: list[tuple[str, int]] = []
    run_id = _crashed_run(engine, tmp_path, "crm.read", _interrupted(interrupted), calls)
    record = _runner(engine, calls, tmp_path).resume_sync(run_id)
    assert record.status is RunStatus.SUCCEEDED and calls == [("crm.read", interrupted + 1)]


def test_an_interrupted_write_that_is_not_idempotent_is_not_called_again_on_takeover(
        engine, tmp_path):
    calls: list[tuple[str, int]] = []
    run_id = _crashed_run(engine, tmp_path, "crm.note", _interrupted(1), calls)
    record = _runner(engine, calls, tmp_path).resume_sync(run_id)
    assert calls == []  # its first call may have had its effect: a second could repeat it
    assert record.status is RunStatus.FAILED
    error = record.steps[0].error
    assert error is not None and "crm.note is not idempotent" in error and "interrupted" in error
    assert record.error is not None and "crm.note is not idempotent" in record.error
    # Deliberately resumed, it is called again, once.
    record = _runner(engine, calls, tmp_path).resume_sync(run_id)
    assert record.status is RunStatus.SUCCEEDED and calls == [("crm.note", 3)]


def test_an_interrupted_idempotent_write_is_called_again_with_the_same_key(engine, tmp_path):
    calls: list[tuple[str, int]] = []
    run_id = _crashed_run(engine, tmp_path, "crm.put", _interrupted(1), calls)
    record = _runner(engine, calls, tmp_path).resume_sync(run_id)
    assert record.status is RunStatus.SUCCEEDED and calls == [("crm.put", 2)]


def test_a_retry_interrupted_while_it_waited_out_its_backoff_is_called_on_takeover(
        engine, tmp_path):
    # Its attempt is journalled before the wait, its call only after: an owner that died
    # during the wait never made the call, so a takeover makes it, write or not.
    calls: list[tuple[str, int]] = []
    log = [{"attempt": 1, "status": "failed", "started_at": AT, "ended_at": AT, "error": "503",
            "retryable": True},
           {"attempt": 2, "status": "started", "started_at": AT, "backoff_s": 30.0}]
    run_id = _crashed_run(engine, tmp_path, "crm.note", log, calls)
    record = _runner(engine, calls, tmp_path).resume_sync(run_id)
    assert record.status is RunStatus.SUCCEEDED and calls == [("crm.note", 3)]


def test_a_retry_interrupted_after_its_backoff_ended_and_its_call_began_is_not_repeated(
        engine, tmp_path):
    calls: list[tuple[str, int]] = []
    log = [{"attempt": 1, "status": "failed", "started_at": AT, "ended_at": AT, "error": "503",
            "retryable": True},
           {"attempt": 2, "status": "started", "started_at": AT, "backoff_s": 30.0,
            "called": True}]
    run_id = _crashed_run(engine, tmp_path, "crm.note", log, calls)
    record = _runner(engine, calls, tmp_path).resume_sync(run_id)
    assert calls == [] and record.status is RunStatus.FAILED
    assert "crm.note is not idempotent" in (record.steps[0].error or "")


def test_a_retry_journals_that_its_call_began_once_its_backoff_ended(engine, tmp_path):
    from executor.store.schema import StepRunRow
    from tools import RetryableToolError

    registry = ToolRegistry()
    seen: list[dict] = []

    @registry.tool("crm.flaky", effect=Effect.WRITE,
                   retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.05, jitter=0))
    def flaky(context: ToolContext) -> str:
        """Refused once (surely no effect), then done."""
        with Session(engine) as s:  # what a takeover would find if the owner died now
            row = s.exec(select(StepRunRow).where(StepRunRow.step_id == "a")).one()
            seen.append(attempt_log.parse(row.attempt_log)[-1])
        if context.attempt == 1:
            raise RetryableToolError("503")
        return "noted"

    runner = make_runner(engine, registry, tmp_path, runtime_check=HostCheck(""))
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "crm.flaky"}]})
    record = runner.run_sync(runner.create_run(approved_plan(engine, plan), 1, plan,
                                               requested_by="alice"))
    assert record.status is RunStatus.SUCCEEDED
    assert "backoff_s" not in seen[0] and "called" not in seen[0]
    assert seen[1]["backoff_s"] == 0.05 and seen[1]["called"] is True


def test_an_owner_that_lost_its_run_during_a_backoff_does_not_make_the_retry(engine, tmp_path):
    import asyncio

    import pytest as _pytest

    from executor.runner import LeaseLostError
    from tools import RetryableToolError

    registry = ToolRegistry()
    calls: list[int] = []

    @registry.tool("crm.flaky", retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.05, jitter=0))
    def flaky(context: ToolContext) -> str:
        """Refused once (its failure and the retry's start are committed before the wait)."""
        calls.append(context.attempt)
        raise RetryableToolError("503")

    async def taken_over_meanwhile(delay_s: float) -> None:
        # Another process takes the run over while this owner waits out the backoff.
        with Session(engine) as s:
            s.execute(update(RunRow).values(owner="other:1:x"))
            s.commit()
        await asyncio.sleep(delay_s)

    runner = make_runner(engine, registry, tmp_path, sleep=taken_over_meanwhile)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "crm.flaky"}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with _pytest.raises(LeaseLostError):
        runner.run_sync(run_id)
    assert calls == [1]  # the retry is fenced before its call, not only at its result
