"""A drain requested while a runtime check is asked: the step, or the zero-backoff retry, it
was asked for is neither called nor journalled, and its verdict is not kept either (the next
owner asks and records it once, as after a cancel)."""
from __future__ import annotations

from sqlalchemy import text

from executor.checks import StepDecision
from executor.draining import Drain
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, no_wait
from tools import Effect, RetryableToolError, ToolContext, ToolRegistry


def _setup(drain_on: tuple[str, int]):
    """The tool (its first attempt of a fails, retryably) and a check that requests the drain
    while it is asked about ``drain_on`` (step, how many checks asked so far)."""
    calls: list[tuple[str, int]] = []
    drain = Drain(grace_s=60)
    registry = ToolRegistry()

    @registry.tool("t.w", effect=Effect.WRITE, idempotent=True,
                   retry={"max_attempts": 3, "initial_backoff_s": 0, "max_backoff_s": 0})
    def w(context: ToolContext) -> int:
        """Fail the first attempt of a, retryably."""
        calls.append((context.step_id, context.attempt))
        if context.step_id == "a" and context.attempt == 1:
            raise RetryableToolError("busy")
        return context.attempt

    class Check:
        asked = 0

        def check_step(self, call):
            self.asked += 1
            if (call.step_id, self.asked) == drain_on:
                drain.request()
            return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)

    return calls, drain, registry, Check()


def _kinds(engine, run_id: str) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(
            text("SELECT kind FROM ledger WHERE subject = :s ORDER BY seq"), {"s": run_id})]


def _run_drained_then_taken_over(engine, tmp_path, step: str, drain_on: tuple[str, int]):
    calls, drain, registry, check = _setup(drain_on)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": step, "tool": "t.w"}]})
    first = make_runner(engine, registry, tmp_path, sleep=no_wait, runtime_check=check)
    run_id = first.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                              detach=True)
    first.worker(once=True, drain=drain)
    drained = list(calls)
    make_runner(engine, registry, tmp_path, sleep=no_wait, runtime_check=check).worker(once=True)
    return drained, calls, _kinds(engine, run_id)


def test_a_retry_checked_as_the_drain_comes_is_not_called(engine, tmp_path):
    drained, calls, kinds = _run_drained_then_taken_over(engine, tmp_path, "a", ("a", 2))
    assert drained == [("a", 1)]
    assert calls == [("a", 1), ("a", 2)]  # the next owner retries it
    assert kinds.count("step_check") == 2  # one per attempt
    assert kinds[-1] == "run_end"


def test_a_step_checked_as_the_drain_comes_keeps_no_verdict(engine, tmp_path):
    drained, calls, kinds = _run_drained_then_taken_over(engine, tmp_path, "b", ("b", 1))
    assert drained == []
    assert calls == [("b", 1)]
    assert kinds.count("step_check") == 1
    assert kinds[-1] == "run_end"
