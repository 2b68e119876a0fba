"""Who owns a run: resume and takeover, workers and leases, the fence on a stale owner,
and retry budgets across crashes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from executor.runner import RunOwnedError
from executor.scheduling import StepStatus
from executor.store.schema import PlanVersionRow, RunRow
from tests.executor.runsupport import approved_plan, handed_over, make_runner, one
from tools import RetryableToolError, RetryPolicy, ToolContext, ToolRegistry


def _set_owner(engine, run_id, owner, lease_s=60.0, status="running"):
    with Session(engine) as s:
        s.execute(update(RunRow).where(RunRow.id == run_id).values(
            owner=owner, status=status, lease_expires_at=datetime.now(UTC) + timedelta(seconds=lease_s)))
        s.commit()


def _queued_run(engine, tmp_path):
    registry = ToolRegistry()
    registry.register_function(one, name="one")
    runner = make_runner(engine, registry, tmp_path)
    from planner.plan import Plan

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "one"}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice", detach=True)
    return registry, run_id


def test_resume_is_refused_while_the_owner_is_alive_and_names_it(engine, tmp_path):
    registry, run_id = _queued_run(engine, tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        from executor.ownership import owner_id_for

        owner = owner_id_for(other.pid, "abc")
        _set_owner(engine, run_id, owner)
        with pytest.raises(RunOwnedError, match=owner):
            make_runner(engine, registry, tmp_path).resume_sync(run_id)
    finally:
        other.kill()
        other.wait()
    record = make_runner(engine, registry, tmp_path).resume_sync(run_id)
    assert record.status is RunStatus.SUCCEEDED


def test_resume_takes_over_when_the_lease_expired(engine, tmp_path):
    registry, run_id = _queued_run(engine, tmp_path)
    _set_owner(engine, run_id, f"elsewhere:{os.getpid()}:abc", lease_s=-1)
    assert make_runner(engine, registry, tmp_path).resume_sync(run_id).status is RunStatus.SUCCEEDED


def test_a_worker_runs_queued_runs_and_runs_whose_lease_expired(engine, tmp_path):
    registry, queued = _queued_run(engine, tmp_path)
    _, expired = _queued_run(engine, tmp_path)
    _, alive = _queued_run(engine, tmp_path)
    _set_owner(engine, expired, "elsewhere:1:abc", lease_s=-1)
    _set_owner(engine, alive, "elsewhere:1:abc", lease_s=600)
    assert make_runner(engine, registry, tmp_path).worker(once=True) == 2
    runner = make_runner(engine, registry, tmp_path)
    assert runner.store.get(queued).status is RunStatus.SUCCEEDED
    assert runner.store.get(expired).status is RunStatus.SUCCEEDED
    assert runner.store.get(alive).status is RunStatus.RUNNING


def test_an_owner_that_lost_its_lease_stops_and_the_new_owner_finishes(engine, tmp_path):
    from executor.runner import LeaseLostError
    from planner.plan import Plan

    registry = ToolRegistry()
    release = threading.Event()
    started = threading.Event()
    calls = []

    @registry.tool("gate")
    def gate(context: ToolContext) -> str:
        """Blocks the first owner until released."""
        calls.append(context.attempt)
        started.set()
        if context.attempt == 1:
            release.wait(20)
        return "done"

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "gate"}]})
    with handed_over(engine, registry, tmp_path, plan, started, release, lease_s=0.3) as handover:
        handover.thread.join(20)  # the first owner notices, its tool still blocked
    second, run_id = handover.second, handover.run_id
    assert [type(e) for e in handover.errors] == [LeaseLostError]
    record = second.run_sync(run_id)
    assert record.status is RunStatus.SUCCEEDED and calls == [1, 2]
    assert [a.status for a in record.steps[0].attempt_log] == [AttemptStatus.INTERRUPTED,
                                                                AttemptStatus.SUCCEEDED]


def test_two_workers_run_each_queued_run_exactly_once(engine, tmp_path):
    from collections import Counter

    from planner.plan import Plan

    registry = ToolRegistry()
    seen = Counter()
    lock = threading.Lock()

    @registry.tool("mark")
    def mark(context: ToolContext) -> int:
        """Counts calls per run."""
        with lock:
            seen[context.run_id] += 1
        time.sleep(0.01)
        return 1

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "mark"}]})
    plan_id = approved_plan(engine, plan)
    creator = make_runner(engine, registry, tmp_path)
    run_ids = [creator.create_run(plan_id, 1, plan, requested_by="alice", detach=True) for _ in range(6)]
    counts = []
    workers = [threading.Thread(target=lambda: counts.append(
        make_runner(engine, registry, tmp_path).worker(once=True))) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert sum(counts) == 6
    assert seen == Counter({rid: 1 for rid in run_ids})


def _always_down(calls: list[int]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("shaky", retry=RetryPolicy(max_attempts=3, initial_backoff_s=0, jitter=0))
    def shaky(context: ToolContext) -> str:
        """Fails every time, retryably."""
        calls.append(context.attempt)
        raise RetryableToolError("still down")

    return registry


def _seed_attempts(engine, run_id: str, step_id: str, log: list[dict], attempts: int,
                   status: str) -> None:
    from executor.store import attempt_log
    from executor.store.schema import StepRunRow

    with Session(engine) as s:
        s.execute(update(StepRunRow).where(StepRunRow.run_id == run_id, StepRunRow.step_id == step_id)
                  .values(attempt_log=attempt_log.dumps(log), attempts=attempts, status=status))
        s.commit()


def test_attempts_made_before_a_crash_count_against_the_retry_budget(engine, tmp_path):
    from planner.plan import Plan

    calls: list[int] = []
    runner = make_runner(engine, _always_down(calls), tmp_path)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "shaky"}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice", detach=True)
    # As a killed owner leaves it: one failed try, then one in flight (interrupted on takeover).
    at = "2026-11-29T12:00:00+00:00"
    _seed_attempts(engine, run_id, "a", [
        {"attempt": 1, "status": "failed", "started_at": at, "ended_at": at, "error": "down",
         "retryable": True},
        {"attempt": 2, "status": "started", "started_at": at}], attempts=2, status="running")
    _set_owner(engine, run_id, "gone-host:1:x", lease_s=-1)
    record = runner.resume_sync(run_id)
    assert calls == [3]  # max_attempts=3: only the third attempt was left
    assert record.status is RunStatus.FAILED
    assert [a.status for a in record.steps[0].attempt_log] == [
        AttemptStatus.FAILED, AttemptStatus.INTERRUPTED, AttemptStatus.FAILED]


def test_resuming_a_failed_run_gives_the_failed_step_a_fresh_retry_budget(engine, tmp_path):
    from planner.plan import Plan

    calls: list[int] = []
    runner = make_runner(engine, _always_down(calls), tmp_path)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "shaky"}]})
    record = runner.run_sync(runner.create_run(approved_plan(engine, plan), 1, plan,
                                               requested_by="alice"))
    assert record.status is RunStatus.FAILED and calls == [1, 2, 3]
    record = make_runner(engine, _always_down(calls), tmp_path).resume_sync(record.id)
    assert record.status is RunStatus.FAILED and calls == [1, 2, 3, 4, 5, 6]


def test_an_owner_that_lost_the_run_cannot_write_over_the_new_owners_record(engine, tmp_path):
    from executor.runner import LeaseLostError
    from planner.plan import Plan

    registry = ToolRegistry()
    release, started = threading.Event(), threading.Event()

    @registry.tool("gate")
    def gate(context: ToolContext) -> str:
        """The first owner's attempt blocks until released."""
        started.set()
        if context.attempt == 1:
            release.wait(20)
        return f"by attempt {context.attempt}"

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "gate"}]})
    # Alive but stalled: its clock does not move, so it never polls its lease before settling.
    with handed_over(engine, registry, tmp_path, plan, started, release, lease_s=0.3,
                     monotonic=lambda: 0.0) as handover:
        done = handover.second.run_sync(handover.run_id)
    second, run_id = handover.second, handover.run_id
    assert [type(e) for e in handover.errors] == [LeaseLostError]
    after = second.store.get(run_id)
    assert after == done  # the stale owner's late result was not written
    step = after.steps[0]
    assert step.output == {"value": "by attempt 2"} and step.attempts == 2
    assert [(a.attempt, a.status) for a in step.attempt_log] == [
        (1, AttemptStatus.INTERRUPTED), (2, AttemptStatus.SUCCEEDED)]
    events = Ledger(engine).events(subject=run_id, kinds=["attempt_success"])
    assert [e.payload["attempt"] for e in events] == [2]


def test_a_retry_waiting_out_its_backoff_never_calls_the_tool_once_the_lease_is_lost(
        engine, tmp_path):
    from executor.runner import LeaseLostError
    from planner.plan import Plan

    calls: list[int] = []
    registry = ToolRegistry()

    @registry.tool("shaky", retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.6, jitter=0))
    def shaky(context: ToolContext) -> str:
        """Fails retryably the first time."""
        calls.append(context.attempt)
        raise RetryableToolError("down")

    first = make_runner(engine, registry, tmp_path, lease_s=0.3)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "shaky"}]})
    run_id = first.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")

    async def run_then_linger() -> list[type]:
        # The caller's loop lives on after the run stops (an application's loop, not run_sync's).
        caught: list[type] = []
        runner = asyncio.ensure_future(first.run(run_id))
        while not calls:
            await asyncio.sleep(0.01)
        _set_owner(engine, run_id, "someone-else:1:x")  # taken over during the backoff
        try:
            await runner
        except LeaseLostError as exc:
            caught.append(type(exc))
        await asyncio.sleep(0.9)  # past the backoff: an orphaned retry would call now
        return caught

    assert asyncio.run(run_then_linger()) == [LeaseLostError]
    assert calls == [1]


def test_a_run_taken_over_after_a_step_failed_for_good_ends_failed_without_new_steps(
        engine, tmp_path):
    from planner.plan import Plan

    calls: list[str] = []
    registry = ToolRegistry()

    @registry.tool("work")
    def work(name: str) -> str:
        """Records that it ran.

        Args:
            name: Which step this is.
        """
        calls.append(name)
        return name

    runner = make_runner(engine, registry, tmp_path)
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "work", "args": {"name": "a"}},
        {"id": "b", "tool": "work", "args": {"name": "b"}}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice", detach=True)
    # As an owner leaves it when killed after step a failed for good, before ending the run.
    at = "2026-11-29T12:00:00+00:00"
    _seed_attempts(engine, run_id, "a", [
        {"attempt": 1, "status": "failed", "started_at": at, "ended_at": at, "error": "HTTP 403",
         "retryable": False}], attempts=1, status="failed")
    with Session(engine) as s:
        from executor.store.schema import StepRunRow

        s.execute(update(StepRunRow).where(StepRunRow.run_id == run_id, StepRunRow.step_id == "a")
                  .values(error="HTTP 403"))
        s.commit()
    _set_owner(engine, run_id, "gone-host:1:x", lease_s=-1)
    record = runner.resume_sync(run_id)
    assert record.status is RunStatus.FAILED and record.error == "step a failed: HTTP 403"
    assert calls == [] and record.steps[1].status is StepStatus.PENDING


def test_only_the_owner_can_end_a_run_and_a_stale_one_records_nothing(engine, tmp_path):
    from executor.runner import LeaseLostError

    _registry, run_id = _queued_run(engine, tmp_path)
    _set_owner(engine, run_id, "new-owner:1:x")
    store = make_runner(engine, ToolRegistry(), tmp_path).store
    with pytest.raises(LeaseLostError, match="taken over"):
        store.finish(run_id, "old-owner:1:x", RunStatus.FAILED, "late")
    record = store.get(run_id, detail=False)
    assert record.status is RunStatus.RUNNING and record.owner == "new-owner:1:x"
    assert Ledger(engine).events(subject=run_id, kinds=["run_end"]) == []


def test_a_run_whose_plan_version_is_gone_fails_with_a_clear_cause(engine, tmp_path):
    from sqlalchemy import delete

    registry, run_id = _queued_run(engine, tmp_path)
    runner = make_runner(engine, registry, tmp_path)
    runner.take_over(run_id)
    with Session(engine) as s:
        s.execute(delete(PlanVersionRow))
        s.commit()
    record = runner.run_sync(run_id)
    assert record.status is RunStatus.FAILED
    assert "is no longer stored; refusing to run it" in (record.error or "")


def test_a_run_without_detail_returns_its_summary_as_stored(engine, tmp_path):
    registry, run_id = _queued_run(engine, tmp_path)
    runner = make_runner(engine, registry, tmp_path)
    runner.take_over(run_id)
    summary = runner.run_sync(run_id, detail=False)
    assert summary.status is RunStatus.SUCCEEDED and summary.steps == ()
    assert summary == runner.store.get(run_id, detail=False)
    assert [s.status for s in runner.store.get(run_id).steps] == [StepStatus.SUCCEEDED]
