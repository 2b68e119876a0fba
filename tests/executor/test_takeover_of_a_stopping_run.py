"""A run taken over after a step failed for good (its owner killed with another step in flight)
stops at once; the step that was in flight ends failed, its attempt interrupted, named in
RUN_END, as a cancel or an internal error ends one. One resume of the failed run, once the
cause is fixed, then runs both again: a person's resume is the say-so a write that is not
idempotent needs before it is called again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from executor.scheduling import StepStatus
from executor.store import attempt_log
from executor.store.claims import STOPPED_IN_FLIGHT
from executor.store.schema import RunRow, StepRunRow
from planner.plan import Plan
from tests.executor.runsupport import HostCheck, approved_plan, make_runner
from tools import Effect, ToolContext, ToolError, ToolRegistry

AT = "2026-11-29T12:00:00+00:00"
DEAD_OWNER = "gone-host:1:x"
PLAN = Plan.model_validate({"goal": "g", "steps": [
    {"id": "f", "tool": "check"}, {"id": "w", "tool": "crm.note"},
    {"id": "after", "tool": "check", "depends_on": ["w"]}]})


def _runner(engine, tmp_path, calls: list[str], fixed: list[bool]):
    registry = ToolRegistry()

    @registry.tool("check")
    def check(context: ToolContext) -> str:
        """Fails for good until the cause is fixed."""
        calls.append(context.step_id)
        if not fixed:
            raise ToolError("the upstream is misconfigured")
        return "ok"

    @registry.tool("crm.note", effect=Effect.WRITE)
    def note(context: ToolContext) -> str:
        """A write that is neither idempotent nor sends the step's key."""
        calls.append(context.step_id)
        return "noted"

    # Writes need a runtime check to run at all: one that allows every call.
    return make_runner(engine, registry, tmp_path, runtime_check=HostCheck(""))


def _killed_after_f_failed(engine, runner) -> str:
    """The run as its owner left it when killed: f failed for good, w's call in flight."""
    run_id = runner.create_run(approved_plan(engine, PLAN), 1, PLAN, requested_by="alice",
                               detach=True)
    failed = [{"attempt": 1, "status": "failed", "started_at": AT, "ended_at": AT,
               "error": "the upstream is misconfigured", "retryable": False}]
    in_flight = [{"attempt": 1, "status": "started", "started_at": AT}]
    with Session(engine) as s:
        for sid, values in (("f", {"status": "failed", "error": "the upstream is misconfigured",
                                   "attempt_log": attempt_log.dumps(failed)}),
                            ("w", {"status": "running", "attempt_log": attempt_log.dumps(in_flight)})):
            s.execute(update(StepRunRow).where(StepRunRow.run_id == run_id,
                                               StepRunRow.step_id == sid)
                      .values(attempts=1, **values))
        s.execute(update(RunRow).where(RunRow.id == run_id).values(
            owner=DEAD_OWNER, status="running", started_at=datetime.now(UTC),
            lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    return run_id


def test_a_takeover_of_a_run_stopping_on_a_failure_ends_the_step_in_flight_failed(engine, tmp_path):
    calls: list[str] = []
    fixed: list[bool] = []
    run_id = _killed_after_f_failed(engine, _runner(engine, tmp_path, calls, fixed))

    record = _runner(engine, tmp_path, calls, fixed).resume_sync(run_id)
    assert calls == []  # stopping: nothing starts, nothing is called again
    assert record.status is RunStatus.FAILED
    assert record.error == "step f failed: the upstream is misconfigured"
    steps = {s.step_id: s for s in record.steps}
    w = steps["w"]
    assert w.status is StepStatus.FAILED and w.ended_at is not None
    assert w.error == STOPPED_IN_FLIGHT
    assert [a.status for a in w.attempt_log] == [AttemptStatus.INTERRUPTED]
    assert steps["after"].status is StepStatus.PENDING and steps["after"].attempts == 0
    end = Ledger(engine).events(subject=run_id)[-1]
    assert end.kind == "run_end"
    assert end.payload == {"status": "failed", "error": record.error, "interrupted": ["w"]}

    fixed.append(True)  # a person fixes f's cause and resumes the failed run, once
    record = _runner(engine, tmp_path, calls, fixed).resume_sync(run_id)
    assert record.status is RunStatus.SUCCEEDED
    assert sorted(calls) == ["after", "f", "w"]
    w = {s.step_id: s for s in record.steps}["w"]
    assert [a.status for a in w.attempt_log] == [AttemptStatus.INTERRUPTED,
                                                 AttemptStatus.SUCCEEDED]
    assert Ledger(engine).verify().ok


def test_a_failed_run_that_never_took_over_a_step_names_none_interrupted(engine, tmp_path):
    calls: list[str] = []
    runner = _runner(engine, tmp_path, calls, [])
    run_id = runner.create_run(approved_plan(engine, PLAN), 1, PLAN, requested_by="alice")
    record = runner.run_sync(run_id)
    assert record.status is RunStatus.FAILED
    assert Ledger(engine).events(subject=run_id)[-1].payload == {"status": "failed",
                                                                "error": record.error}
