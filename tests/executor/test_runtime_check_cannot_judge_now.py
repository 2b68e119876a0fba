"""A runtime check that cannot judge a call now, or fails, never costs the run a result it
already has, and never lets a call through unchecked.

The settings file breaking while a step ran (a syntax error, an editor's half-saved file) made
the next step's runtime check raise the settings error (the requester's roles cannot be read):
the run stopped before the turn's commit, the step that had just finished was never recorded,
and the takeover called a finished read again or failed a finished write ("may have had its
effect"). Now a check that cannot judge now (``RunDeferredError``) waits, the run's lease
renewed and what it settled committed meanwhile, and is asked again; and whatever stops the
loop between a result and the turn's commit (a check that breaks, any bug), the results
already settled are committed first. The checks below wait for what another process sees,
never for a set time.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from executor.checks import StepCall, StepDecision
from executor.draining import Drain
from executor.errors import RunDeferredError, RunLeftError
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, no_wait, run_plan
from tests.executor.test_slow_runtime_check import FETCH_THEN_POST, GIVE_UP_S
from tools import Effect, RetryableToolError, RetryPolicy, ToolContext, ToolRegistry

BUNDLE = "b" * 64
LEASE_S = 1.5  # polled every 0.5 s
# How long a check waits for what the fixed runner does within a poll before giving up, so
# that a runner that does not do it fails the test rather than hangs.


class _FileBroke(RunDeferredError):
    """What the application's settings error is: the check cannot judge the call now."""


class Check:
    """Allows every call; ``judge(call, n)`` (``n``: how often that step was asked) may raise
    first."""

    def __init__(self, judge: Callable[[StepCall, int], None] = lambda call, n: None) -> None:
        self.judge = judge
        self.asked: list[str] = []

    def check_step(self, call: StepCall) -> StepDecision:
        """Allow, once ``judge`` lets it."""
        self.asked.append(call.step_id)
        self.judge(call, self.asked.count(call.step_id))
        return StepDecision(allow=True, engine="test", bundle_hash=BUNDLE)


def _registry(calls: list[str], *, backoff_s: float = 0.0) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("fetch")
    def fetch(name: str) -> str:
        """Reads a page."""
        calls.append(name)
        return f"page {name}"

    @registry.tool("post", effect=Effect.WRITE, idempotent=False,
                   retry=RetryPolicy(max_attempts=2, initial_backoff_s=backoff_s,
                                     max_backoff_s=max(backoff_s, 1.0), jitter=0))
    def post(body: str, context: ToolContext) -> str:
        """Sends ``body``; a body of "flaky" is refused at its first attempt (nothing done)."""
        calls.append(f"post {context.attempt}")
        if body == "flaky" and context.attempt == 1:
            raise RetryableToolError("503, nothing done")
        return f"sent {body[:10]}"

    return registry




def _steps(engine, run_id: str) -> list[tuple[str, str]]:
    return [(e.kind, e.payload["step"]) for e in Ledger(engine).events(subject=run_id)
            if e.payload.get("step")]


def test_a_check_that_cannot_judge_now_waits_keeping_the_finished_step(engine, tmp_path):
    ledger = Ledger(engine)

    def judge(call: StepCall, n: int) -> None:
        # The file is broken until another process sees a's result committed: the run waits
        # for the check with that result kept, never lost with the run.
        if not ledger.events(subject=call.run_id, kinds=["attempt_success"]):
            if n < 200:
                raise _FileBroke("the settings file does not load: line 3")

    calls: list[str] = []
    check = Check(judge)
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=check,
                         lease_s=LEASE_S)
    record = run_plan(runner, engine, FETCH_THEN_POST)
    assert record.status is RunStatus.SUCCEEDED
    assert calls == ["a", "post 1"]
    assert check.asked.count("b") >= 2  # asked again once the file could be read
    # One verdict, where it would have been had the file loaded.
    assert _steps(engine, record.id) == [
        ("attempt_start", "a"), ("attempt_success", "a"), ("step_check", "b"),
        ("attempt_start", "b"), ("attempt_success", "b")]


def test_a_cancel_while_a_check_cannot_judge_now_starts_nothing_more(engine, tmp_path):
    other = make_runner(engine, _registry([]), tmp_path)  # who cancels: another process

    def judge(call: StepCall, n: int) -> None:
        if n == 1:
            other.store.request_cancel(call.run_id, actor="alice")
        if n * 0.5 < GIVE_UP_S:  # a runner that never sees the cancel calls b in the end
            raise _FileBroke("the settings file does not load: line 3")

    calls: list[str] = []
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=Check(judge),
                         lease_s=LEASE_S)
    record = run_plan(runner, engine, FETCH_THEN_POST)
    assert record.status is RunStatus.CANCELLED
    assert calls == ["a"]
    assert [(s.status, s.attempts) for s in record.steps] == [
        (StepStatus.SUCCEEDED, 1), (StepStatus.PENDING, 0)]
    assert ("step_check", "b") not in _steps(engine, record.id)


def test_a_drain_while_a_check_cannot_judge_now_leaves_the_step_to_the_next_owner(
        engine, tmp_path):
    drain = Drain(grace_s=0)

    def judge(call: StepCall, n: int) -> None:
        drain.request()  # the process is asked to stop while the file is broken
        if n * 0.5 >= GIVE_UP_S:  # a runner that never sees the drain ends the run failed
            raise RuntimeError("the wait outlived the drain")
        raise _FileBroke("the settings file does not load: line 3")

    calls: list[str] = []
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=Check(judge),
                         lease_s=LEASE_S)
    plan = Plan.model_validate(FETCH_THEN_POST)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(RunLeftError):
        runner.run_sync(run_id, drain=drain)
    assert calls == ["a"]
    left = runner.store.get(run_id)
    assert [(s.status, s.attempts) for s in left.steps] == [
        (StepStatus.SUCCEEDED, 1), (StepStatus.PENDING, 0)]

    worker = make_runner(engine, _registry(calls), tmp_path, runtime_check=Check())
    assert worker.worker(once=True) == 1  # its lease given back: claimed at once
    assert worker.store.get(run_id, detail=False).status is RunStatus.SUCCEEDED
    assert calls == ["a", "post 1"]  # a's result was kept: not fetched again


@pytest.mark.parametrize("backoff_s", [0.0, 0.5])
def test_a_retrys_check_that_cannot_judge_now_waits_then_calls_it(engine, tmp_path, backoff_s):
    def judge(call: StepCall, n: int) -> None:
        if n in (2, 3):  # the retry's check, twice
            raise _FileBroke("the settings file does not load: line 3")

    calls: list[str] = []
    check = Check(judge)
    runner = make_runner(engine, _registry(calls, backoff_s=backoff_s), tmp_path,
                         runtime_check=check, lease_s=LEASE_S, sleep=no_wait)
    plan = {"goal": "g", "steps": [{"id": "b", "tool": "post", "args": {"body": "flaky"}}]}
    record = run_plan(runner, engine, plan)
    assert record.status is RunStatus.SUCCEEDED
    assert calls == ["post 1", "post 2"]
    assert check.asked == ["b"] * 4
    assert [kind for kind, _ in _steps(engine, record.id)] == [
        "step_check", "attempt_start", "attempt_failure", "step_check", "attempt_start",
        "attempt_success"] if backoff_s == 0 else [
        "step_check", "attempt_start", "attempt_failure", "attempt_start", "step_check",
        "attempt_success"]


@pytest.mark.parametrize("backoff_s", [0.0, 0.5])
def test_a_cancel_while_a_retrys_check_cannot_judge_now_drops_the_retry_uncalled(
        engine, tmp_path, backoff_s):
    other = make_runner(engine, _registry([]), tmp_path)

    def judge(call: StepCall, n: int) -> None:
        if n == 2:  # the retry's check
            other.store.request_cancel(call.run_id, actor="alice")
        if n >= 2 and n * 0.5 < GIVE_UP_S:
            raise _FileBroke("the settings file does not load: line 3")

    calls: list[str] = []
    runner = make_runner(engine, _registry(calls, backoff_s=backoff_s), tmp_path,
                         runtime_check=Check(judge), lease_s=LEASE_S, sleep=no_wait)
    plan = {"goal": "g", "steps": [{"id": "b", "tool": "post", "args": {"body": "flaky"}}]}
    record = run_plan(runner, engine, plan)
    assert record.status is RunStatus.CANCELLED
    assert calls == ["post 1"]
    (step,) = record.steps
    assert step.status is StepStatus.FAILED and step.attempts == 2
    assert step.error == "not tried again: the run was cancelled"
    assert [kind for kind, _ in _steps(engine, record.id)].count("step_check") == 1


def test_a_check_that_breaks_ends_the_run_failed_keeping_the_finished_step(engine, tmp_path):
    """A check that raises anything else is a bug: the run ends failed on an internal error,
    loud, as any bug ends it (tests/executor/test_internal_errors.py), the step it was asked
    about not started; the result settled before it in that turn is committed first, so a
    resume does not call that step again."""
    def judge(call: StepCall, n: int) -> None:
        raise RuntimeError("the policy adapter has a bug")

    calls: list[str] = []
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=Check(judge))
    run_id = runner.create_run(approved_plan(engine, FETCH_THEN_POST), 1,
                               Plan.model_validate(FETCH_THEN_POST), requested_by="alice")
    with pytest.raises(RuntimeError, match="has a bug"):
        runner.run_sync(run_id)
    record = runner.store.get(run_id)
    assert record.status is RunStatus.FAILED and "internal error" in record.error
    assert [(s.status, s.attempts) for s in record.steps] == [
        (StepStatus.SUCCEEDED, 1), (StepStatus.PENDING, 0)]
    assert calls == ["a"]

    again = make_runner(engine, _registry(calls), tmp_path, runtime_check=Check())
    assert again.resume_sync(run_id).status is RunStatus.SUCCEEDED
    assert calls == ["a", "post 1"]  # a's result was kept: not fetched again


def test_an_error_after_a_result_settled_commits_it_before_the_run_stops(engine, tmp_path):
    """A bug anywhere between a settled result and the turn's commit (here: a progress
    observer that raises) ends the run failed, as any internal error does: the result settled
    before it is committed first, so a resume does not call that step again."""
    def observer(progress) -> None:
        if progress.step_id == "a" and progress.status is StepStatus.SUCCEEDED:
            raise RuntimeError("the progress view has a bug")

    calls: list[str] = []
    plan = {"goal": "g", "steps": [
        FETCH_THEN_POST["steps"][0],
        {"id": "c", "tool": "fetch", "args": {"name": {"ref": "a.value"}}}]}
    runner = make_runner(engine, _registry(calls), tmp_path, observer=observer)
    plan_id = approved_plan(engine, plan)
    run_id = runner.create_run(plan_id, 1, Plan.model_validate(plan), requested_by="alice")
    with pytest.raises(RuntimeError, match="progress view"):
        runner.run_sync(run_id)
    record = runner.store.get(run_id)
    assert record.status is RunStatus.FAILED
    assert [s.status for s in record.steps] == [StepStatus.SUCCEEDED, StepStatus.PENDING]

    again = make_runner(engine, _registry(calls), tmp_path)
    assert again.resume_sync(run_id).status is RunStatus.SUCCEEDED
    assert calls == ["a", "page a"]

