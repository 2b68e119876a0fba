"""A retry whose owner died while it waited out its backoff never called its tool: on takeover
that attempt does not count against the step's ``max_attempts`` (only tries that failed, or
were cut short with the call possibly made, do), however often it happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session

from executor.records import AttemptStatus, RunStatus
from executor.store import attempt_log
from executor.store.schema import RunRow, StepRunRow
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, no_wait
from tools import RetryableToolError, RetryPolicy, ToolContext, ToolRegistry

AT = "2026-11-29T12:00:00+00:00"
FAILED = {"status": "failed", "started_at": AT, "ended_at": AT, "error": "still down",
          "retryable": True}


def _registry(calls: list[int], succeed_at: int | None) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("svc.fetch", retry=RetryPolicy(max_attempts=3, initial_backoff_s=5,
                                                  max_backoff_s=10, jitter=0))
    def fetch(context: ToolContext) -> str:
        """A service that is down until attempt ``succeed_at``."""
        calls.append(context.attempt)
        if succeed_at is None or context.attempt < succeed_at:
            raise RetryableToolError("still down")
        return "fetched"

    return registry


def _resumed(engine, tmp_path, log: list[dict], calls: list[int], succeed_at: int | None):
    """Resume a one-step run its dead owner left with ``log`` as the step's attempts."""
    runner = make_runner(engine, _registry(calls, succeed_at), tmp_path, sleep=no_wait)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "svc.fetch"}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    with Session(engine) as s:
        s.execute(update(StepRunRow).where(StepRunRow.run_id == run_id, StepRunRow.step_id == "a")
                  .values(attempt_log=attempt_log.dumps(log), attempts=len(log), status="running"))
        s.execute(update(RunRow).where(RunRow.id == run_id).values(
            owner="gone-host:1:x", status="running",
            lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    return runner.resume_sync(run_id)


def _waiting(attempt: int, status: str = "interrupted") -> dict:
    """A retry journalled before its backoff, whose call never began."""
    entry = {"attempt": attempt, "status": status, "started_at": AT, "backoff_s": 5.0}
    if status == "interrupted":
        entry.update(ended_at=AT, error=attempt_log.INTERRUPTED_ERROR)
    return entry


def test_a_retry_cut_short_in_its_backoff_does_not_use_up_a_try(engine, tmp_path):
    # One call made and failed; the owner died while the retry waited: two tries are left.
    calls: list[int] = []
    record = _resumed(engine, tmp_path, [{"attempt": 1, **FAILED}, _waiting(2, "started")],
                      calls, succeed_at=None)
    assert calls == [3, 4]  # max_attempts 3: three calls in all, the first one before the crash
    assert record.status is RunStatus.FAILED and record.error == "step a failed: still down"
    assert [a.status for a in record.steps[0].attempt_log] == [
        AttemptStatus.FAILED, AttemptStatus.INTERRUPTED, AttemptStatus.FAILED,
        AttemptStatus.FAILED]


def test_owners_dying_again_and_again_in_backoffs_do_not_fail_the_step(engine, tmp_path):
    calls: list[int] = []
    log = [{"attempt": 1, **FAILED}, _waiting(2), _waiting(3), _waiting(4), _waiting(5, "started")]
    record = _resumed(engine, tmp_path, log, calls, succeed_at=6)
    assert record.status is RunStatus.SUCCEEDED and calls == [6]


def test_an_interrupted_call_that_may_have_been_made_still_counts(engine, tmp_path):
    # Its backoff was over and its call began: it counts, as a call cut short by a crash.
    calls: list[int] = []
    began = {**_waiting(2), "called": True}
    record = _resumed(engine, tmp_path, [{"attempt": 1, **FAILED}, began, _waiting(3, "started")],
                      calls, succeed_at=None)
    assert calls == [4]
    assert record.status is RunStatus.FAILED


def test_tries_leave_out_interrupted_attempts_that_never_called():
    log = [{"attempt": 1, **FAILED}, _waiting(2), {**_waiting(3), "called": True},
           {"attempt": 4, "status": "interrupted", "started_at": AT, "ended_at": AT}]
    assert attempt_log.tries(log) == 3
