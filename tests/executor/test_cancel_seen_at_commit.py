"""A cancel committed while a step runs stops the run at its owner's next commit, whether or not
the owner has polled since: no step starts after it, and the run ends cancelled.

Each test raises the flag from inside a tool (or a retry's backoff) through the store's real
cancel, with the owner's poll so rare it never sees the flag: only the commit that records the
step's result can. Nothing here depends on timing.
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from sqlalchemy import text as sql

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from executor.scheduling import StepStatus
from executor.store.runs import RunStore
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, no_wait
from tools import RetryableToolError, RetryPolicy, ToolContext, ToolRegistry

NEVER_POLLS_S = 1e9


def _request_cancel(engine, run_id: str) -> None:
    assert RunStore(engine, Ledger(engine)).request_cancel(run_id, actor="carol") is not None


def _registry(engine, calls: list[str]) -> ToolRegistry:
    """``cancels`` (sync) and ``cancels.async`` ask to cancel their run, then succeed;
    ``work`` just counts its calls."""
    registry = ToolRegistry()

    @registry.tool("cancels")
    def cancels(context: ToolContext) -> int:
        """Asks to cancel the run it belongs to, then returns."""
        calls.append(context.step_id)
        _request_cancel(engine, context.run_id)
        return 1

    @registry.tool("cancels.async")
    async def cancels_async(context: ToolContext) -> int:
        """The same, as an async tool."""
        calls.append(context.step_id)
        await asyncio.to_thread(_request_cancel, engine, context.run_id)
        return 1

    @registry.tool("work")
    def work(context: ToolContext) -> int:
        """Does nothing but count."""
        calls.append(context.step_id)
        return 2

    return registry


def _run(engine, tmp_path, registry: ToolRegistry, steps: list[dict], **options):
    runner = make_runner(engine, registry, tmp_path, lease_s=60.0, **options)
    runner.poll_s = NEVER_POLLS_S  # only the commit can see the flag
    plan = Plan.model_validate({"goal": "g", "steps": steps})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    return runner.run_sync(run_id)


def _kinds(engine, run_id: str) -> list[tuple[str, str | None]]:
    return [(e.kind, e.payload.get("step")) for e in Ledger(engine).events(subject=run_id)]


def _assert_never_started(record, engine, *step_ids: str) -> None:
    kinds = _kinds(engine, record.id)
    steps = {s.step_id: s for s in record.steps}
    for sid in step_ids:
        assert ("attempt_start", sid) not in kinds
        assert steps[sid].status is StepStatus.PENDING
        assert steps[sid].attempts == 0 and steps[sid].attempt_log == ()
        assert steps[sid].started_at is None


def _assert_ended_cancelled(record, engine) -> None:
    assert record.status is RunStatus.CANCELLED and record.error is None
    kinds = [k for k, _ in _kinds(engine, record.id)]
    assert kinds.count("run_cancel") == 1
    assert kinds[-2:] == ["run_cancel", "run_end"]
    assert Ledger(engine).events(subject=record.id)[-1].payload == {"status": "cancelled",
                                                                   "error": None}
    assert Ledger(engine).verify().ok


@pytest.mark.parametrize("tool", ["cancels", "cancels.async"])
def test_a_cancel_committed_while_a_step_runs_starts_no_dependent(engine, tmp_path, tool):
    calls: list[str] = []
    record = _run(engine, tmp_path, _registry(engine, calls), [
        {"id": "a", "tool": tool}, {"id": "b", "tool": "work", "depends_on": ["a"]}])
    assert calls == ["a"]
    _assert_ended_cancelled(record, engine)
    _assert_never_started(record, engine, "b")
    a = record.steps[0]
    assert a.status is StepStatus.SUCCEEDED and a.output == {"value": 1}  # its result still commits
    kinds = _kinds(engine, record.id)
    assert kinds.index(("cancel_request", None)) < kinds.index(("attempt_success", "a"))


def test_a_cancel_starts_none_of_a_fan_out_and_lets_a_sibling_in_flight_finish(engine, tmp_path):
    calls: list[str] = []
    registry = _registry(engine, calls)
    cancelled = threading.Event()

    @registry.tool("waits")
    def waits(context: ToolContext) -> int:
        """Returns once the cancel has been asked (by its sibling ``a``)."""
        calls.append(context.step_id)
        assert cancelled.wait(20)
        return 3

    @registry.tool("cancels.then.releases")
    def cancels_then_releases(context: ToolContext) -> int:
        """Asks to cancel the run, then lets ``s`` return."""
        calls.append(context.step_id)
        _request_cancel(engine, context.run_id)
        cancelled.set()
        return 1

    record = _run(engine, tmp_path, registry, [
        {"id": "a", "tool": "cancels.then.releases"}, {"id": "s", "tool": "waits"},
        *({"id": sid, "tool": "work", "depends_on": ["a"]} for sid in ("b", "c", "d"))],
        concurrency=4)
    assert sorted(calls) == ["a", "s"]
    _assert_ended_cancelled(record, engine)
    _assert_never_started(record, engine, "b", "c", "d")
    steps = {s.step_id: s for s in record.steps}
    assert steps["a"].status is StepStatus.SUCCEEDED
    assert steps["s"].status is StepStatus.SUCCEEDED and steps["s"].output == {"value": 3}


def test_a_run_whose_last_step_ends_after_the_cancel_ends_cancelled(engine, tmp_path):
    calls: list[str] = []
    record = _run(engine, tmp_path, _registry(engine, calls), [{"id": "a", "tool": "cancels"}])
    assert calls == ["a"]
    _assert_ended_cancelled(record, engine)
    assert record.steps[0].status is StepStatus.SUCCEEDED


def test_a_step_that_would_fail_before_its_call_is_not_started_after_a_cancel(engine, tmp_path):
    """Its attempt would start and fail at once (no such tool): cancelled first, it never starts."""
    calls: list[str] = []
    record = _run(engine, tmp_path, _registry(engine, calls), [
        {"id": "a", "tool": "cancels"}, {"id": "b", "tool": "work", "depends_on": ["a"]},
        {"id": "c", "tool": "no.such.tool", "depends_on": ["a"]}], concurrency=4)
    assert calls == ["a"]
    _assert_ended_cancelled(record, engine)
    _assert_never_started(record, engine, "b", "c")
    assert ("attempt_failure", "c") not in _kinds(engine, record.id)


@pytest.mark.parametrize("backoff_s", [0.0, 0.5])
def test_a_retry_decided_after_a_cancel_is_not_called(engine, tmp_path, backoff_s):
    """The attempt fails after asking to cancel: its retry ends as one a cancel drops in its
    backoff does, its tool not called again, and the step after it never starts."""
    calls: list[str] = []
    registry = _registry(engine, calls)

    @registry.tool("cancels.then.fails", retry=RetryPolicy(
        max_attempts=3, initial_backoff_s=backoff_s, jitter=0))
    def cancels_then_fails(context: ToolContext) -> int:
        """Asks to cancel the run, then fails as a retryable error."""
        calls.append(context.step_id)
        _request_cancel(engine, context.run_id)
        raise RetryableToolError("flaky")

    record = _run(engine, tmp_path, registry, [
        {"id": "a", "tool": "cancels.then.fails"},
        {"id": "b", "tool": "work", "depends_on": ["a"]}], sleep=no_wait)
    assert calls == ["a"]
    _assert_ended_cancelled(record, engine)
    _assert_never_started(record, engine, "b")
    a = record.steps[0]
    assert a.status is StepStatus.FAILED
    assert a.error == "not tried again: the run was cancelled"
    assert [x.status for x in a.attempt_log] == [AttemptStatus.FAILED, AttemptStatus.FAILED]


def test_a_retry_whose_backoff_ends_after_a_cancel_is_not_called(engine, tmp_path):
    """The cancel commits during the backoff; the commit that would say the call begins sees
    it: the call is not made, and the attempt ends as a dropped retry's does."""
    calls: list[str] = []
    registry = ToolRegistry()
    run_ids: list[str] = []

    @registry.tool("flaky", retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.5, jitter=0))
    def flaky(context: ToolContext) -> int:
        """Fails as a retryable error."""
        calls.append(context.step_id)
        run_ids.append(context.run_id)
        raise RetryableToolError("flaky")

    async def cancel_during_the_backoff(_delay: float) -> None:
        await asyncio.to_thread(_request_cancel, engine, run_ids[0])

    record = _run(engine, tmp_path, registry, [{"id": "a", "tool": "flaky"}],
                  sleep=cancel_during_the_backoff)
    assert calls == ["a"]
    _assert_ended_cancelled(record, engine)
    a = record.steps[0]
    assert a.status is StepStatus.FAILED
    assert a.error == "not tried again: the run was cancelled"
    assert [x.status for x in a.attempt_log] == [AttemptStatus.FAILED, AttemptStatus.FAILED]
    with engine.connect() as conn:  # its call was never journalled as begun
        (text,) = conn.execute(sql("SELECT attempt_log FROM run_steps WHERE run_id = :r"),
                               {"r": record.id}).one()
    assert [entry.get("called") for entry in json.loads(text)] == [None, None]


def test_ending_a_run_flagged_for_cancel_ends_it_cancelled(engine):
    """The owner ends the run as it saw it, the flag raised since its last look: the end
    commits cancelled, with RUN_CANCEL then RUN_END, never succeeded."""
    store = RunStore(engine, Ledger(engine))
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "work"}]})
    plan_id = approved_plan(engine, plan)
    store.create(run_id="r-flagged", plan_id=plan_id, version=1, plan_hash=plan.plan_hash(),
                 steps=[("a", "work")], requested_by="alice", concurrency=1, owner="me")
    assert store.request_cancel("r-flagged", actor="carol") is not None
    ended = store.finish("r-flagged", "me", RunStatus.SUCCEEDED, None)
    assert ended.status is RunStatus.CANCELLED and ended.error is None
    kinds = [e.kind for e in Ledger(engine).events(subject="r-flagged")]
    assert kinds == ["run_start", "cancel_request", "run_cancel", "run_end"]
    assert Ledger(engine).events(subject="r-flagged")[-1].payload == {"status": "cancelled",
                                                                     "error": None}
