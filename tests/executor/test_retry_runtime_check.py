"""Every attempt that calls a tool is checked by the runtime policy first, a retry too: with
its resolved arguments, just before its call (after its backoff), recorded as ``step_check``
as the first attempt's check is; a denial on a retry ends the step as a first-attempt
denial does, without calling the tool."""

from __future__ import annotations

from executor.checks import StepCall, StepDecision
from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from tests.executor.runsupport import make_runner, no_wait, run_plan
from tools import Effect, RetryableToolError, RetryPolicy, ToolContext, ToolRegistry

BUNDLE = "b" * 64


class Window:
    """A batch window: open for the first ``open_for`` calls it is asked about, closed after."""

    def __init__(self, open_for: int) -> None:
        self.open_for = open_for
        self.asked: list[StepCall] = []

    def check_step(self, call: StepCall) -> StepDecision:
        """Allow while the window is open."""
        self.asked.append(call)
        if len(self.asked) <= self.open_for:
            return StepDecision(allow=True, engine="test", bundle_hash=BUNDLE)
        return StepDecision(allow=False, deny=("outside the batch window",), engine="test",
                            bundle_hash=BUNDLE)


def _registry(calls: list[int], *, backoff_s: float) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("crm.send", effect=Effect.WRITE,
                   retry=RetryPolicy(max_attempts=3, initial_backoff_s=backoff_s,
                                     max_backoff_s=max(backoff_s, 1.0), jitter=0))
    def send(to: str, context: ToolContext) -> str:
        """Refused twice (surely no effect), then sent."""
        calls.append(context.attempt)
        if context.attempt < 3:
            raise RetryableToolError("503, nothing done")
        return f"sent to {to}"

    return registry


PLAN = {"goal": "g", "steps": [{"id": "s", "tool": "crm.send", "args": {"to": "ann"}}]}


def _kinds(engine, run_id: str) -> list[str]:
    return [e.kind for e in Ledger(engine).events(subject=run_id)]


def _run(engine, tmp_path, check: Window, calls: list[int], backoff_s: float):
    runner = make_runner(engine, _registry(calls, backoff_s=backoff_s), tmp_path,
                         runtime_check=check, sleep=no_wait)
    return run_plan(runner, engine, PLAN)


def test_each_retry_is_checked_before_its_call(engine, tmp_path):
    calls: list[int] = []
    check = Window(open_for=10)
    record = _run(engine, tmp_path, check, calls, backoff_s=0.5)
    assert record.status is RunStatus.SUCCEEDED and calls == [1, 2, 3]
    assert len(check.asked) == 3  # one check per call
    assert all(c.args == {"to": "ann"} and c.step_id == "s" for c in check.asked)
    assert _kinds(engine, record.id) == [
        "run_start", "step_check", "attempt_start", "attempt_failure",
        "attempt_start", "step_check", "attempt_failure",
        "attempt_start", "step_check", "attempt_success", "run_end"]
    assert Ledger(engine).verify().ok


def test_a_retry_denied_by_the_runtime_check_is_not_called_and_fails_the_step(engine, tmp_path):
    calls: list[int] = []
    check = Window(open_for=1)  # the window closes after the first call
    record = _run(engine, tmp_path, check, calls, backoff_s=0.5)
    assert calls == [1]  # the retry's call is never made
    assert len(check.asked) == 2
    assert record.status is RunStatus.FAILED
    step = record.steps[0]
    assert step.error == "denied by runtime policy: outside the batch window"
    assert record.error == "step s failed: denied by runtime policy: outside the batch window"
    assert [a.status for a in step.attempt_log] == [AttemptStatus.FAILED, AttemptStatus.FAILED]
    assert step.attempt_log[-1].error == step.error and step.attempt_log[-1].retryable is False
    events = Ledger(engine).events(subject=record.id)
    assert [e.kind for e in events] == [
        "run_start", "step_check", "attempt_start", "attempt_failure",
        "attempt_start", "step_check", "attempt_failure", "run_end"]
    denial = events[5].payload
    assert denial["allow"] is False and denial["deny"] == ["outside the batch window"]
    assert events[6].payload["code"] == "runtime_denied"
    assert Ledger(engine).verify().ok


def test_a_retry_without_a_backoff_is_checked_like_a_first_attempt(engine, tmp_path):
    calls: list[int] = []
    check = Window(open_for=1)
    record = _run(engine, tmp_path, check, calls, backoff_s=0.0)
    assert calls == [1] and len(check.asked) == 2
    assert record.status is RunStatus.FAILED
    assert record.steps[0].error == "denied by runtime policy: outside the batch window"
    # Checked before it is journalled, as a first attempt is: denied, no attempt starts.
    assert _kinds(engine, record.id) == [
        "run_start", "step_check", "attempt_start", "attempt_failure", "step_check", "run_end"]
    assert Ledger(engine).verify().ok


def test_a_retry_without_a_backoff_is_checked_each_time_it_is_allowed(engine, tmp_path):
    calls: list[int] = []
    check = Window(open_for=10)
    record = _run(engine, tmp_path, check, calls, backoff_s=0.0)
    assert record.status is RunStatus.SUCCEEDED and calls == [1, 2, 3]
    assert len(check.asked) == 3
    assert _kinds(engine, record.id).count("step_check") == 3


def test_an_attempt_resumed_after_a_crash_is_checked_again(engine, tmp_path):
    """A takeover's attempt is asked about as a first attempt is, whatever was allowed before."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update
    from sqlmodel import Session

    from executor.store import attempt_log
    from executor.store.schema import RunRow, StepRunRow
    from planner.plan import Plan
    from tests.executor.runsupport import approved_plan

    at = "2026-11-29T12:00:00+00:00"
    log = [{"attempt": 1, "status": "failed", "started_at": at, "ended_at": at, "error": "503",
            "retryable": True},
           {"attempt": 2, "status": "started", "started_at": at, "backoff_s": 0.5}]
    calls: list[int] = []
    check = Window(open_for=0)  # the window closed while the owner was dead
    runner = make_runner(engine, _registry(calls, backoff_s=0.5), tmp_path, runtime_check=check,
                         sleep=no_wait)
    plan = Plan.model_validate(PLAN)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    with Session(engine) as s:
        s.execute(update(StepRunRow).where(StepRunRow.run_id == run_id)
                  .values(attempt_log=attempt_log.dumps(log), attempts=2, status="running"))
        s.execute(update(RunRow).where(RunRow.id == run_id).values(
            owner="gone-host:1:x", status="running",
            lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    record = runner.resume_sync(run_id)
    assert calls == [] and len(check.asked) == 1
    assert record.status is RunStatus.FAILED
    assert record.steps[0].error == "denied by runtime policy: outside the batch window"
    assert "step_check" in _kinds(engine, run_id)
