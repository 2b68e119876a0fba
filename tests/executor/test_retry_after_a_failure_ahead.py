"""A retry waiting out its backoff while a step started before it fails for good: whether the
retry is made does not depend on which ended first, the backoff or the other step. The retry's
call waits, besides its backoff, for every attempt started before it to be settled, so a
failure settled ahead of it always drops it; the outputs and the ledger are the same."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus, StepStatus
from executor.store.db import make_engine
from executor.store.migrate import upgrade
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tools import RetryableToolError, RetryPolicy, ToolContext, ToolError, ToolRegistry

PLAN = Plan.model_validate({"goal": "g", "steps": [
    {"id": "c", "tool": "work", "args": {"name": "c"}},
    {"id": "a", "tool": "work", "args": {"name": "a"}}]})


def _run(tmp_path, *, backoff_first: bool):
    """``c`` fails retryably once; ``a`` (started after it) fails for good. With
    ``backoff_first`` ``c``'s backoff is over before ``a`` fails; otherwise it ends only once
    ``a``'s failure has been settled."""
    calls: list[tuple[str, int]] = []
    backoff_began = asyncio.Event()
    a_settled = asyncio.Event()
    registry = ToolRegistry()

    @registry.tool("work", retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.5, jitter=0))
    async def work(name: str, context: ToolContext) -> str:
        """``c`` meets a busy service once; ``a`` fails for good once ``c`` waits to retry."""
        calls.append((name, context.attempt))
        if name == "c":
            if context.attempt == 1:
                raise RetryableToolError("busy")
            return "c done"
        await backoff_began.wait()
        for _ in range(50):  # let the retry's backoff run out and, if nothing holds it, call
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        raise ToolError("a: permanent failure")

    async def backoff(_delay: float) -> None:
        backoff_began.set()
        if not backoff_first:
            await a_settled.wait()

    def observe(progress) -> None:
        if progress.step_id == "a" and progress.status is StepStatus.FAILED:
            a_settled.set()

    engine = make_engine(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
    upgrade(engine)
    approved_plan(engine, PLAN, plan_id="p-fixed")
    runner = make_runner(engine, registry, tmp_path, concurrency=2, sleep=backoff,
                         observer=observe)
    runner.create_run("p-fixed", 1, PLAN, requested_by="alice", run_id="r-fixed")
    record = runner.run_sync("r-fixed")
    ledger = [(e.kind, e.payload) for e in Ledger(engine).events(subject="r-fixed")]
    assert Ledger(engine).verify().ok
    engine.dispose()
    return record, calls, ledger


def test_a_retry_is_dropped_by_a_failure_ahead_of_it_whichever_ended_first(tmp_path):
    late, late_calls, late_ledger = _run(tmp_path, backoff_first=False)
    early, early_calls, early_ledger = _run(tmp_path, backoff_first=True)
    for record, calls in ((late, late_calls), (early, early_calls)):
        assert record.status is RunStatus.FAILED
        assert record.error == "step a failed: a: permanent failure"
        assert calls == [("c", 1), ("a", 1)]  # the retry of c is never made
        c = next(s for s in record.steps if s.step_id == "c")
        assert c.status is StepStatus.FAILED
        assert c.error == ("not tried again: the run is stopping "
                           "(step a failed: a: permanent failure)")
        assert [a.status for a in c.attempt_log] == [AttemptStatus.FAILED, AttemptStatus.FAILED]
    assert early_ledger == late_ledger


@st.composite
def failing_plans(draw):
    """Random DAGs whose steps may fail once retryably, and one of which may fail for good."""
    n = draw(st.integers(2, 7))
    doomed = draw(st.integers(0, n - 1))
    steps = []
    for i in range(n):
        deps = sorted(draw(st.sets(st.integers(0, i - 1), max_size=2))) if i else []
        steps.append({"id": f"s{i}", "tool": "work", "depends_on": [f"s{d}" for d in deps],
                      "args": {"flaky": draw(st.booleans()), "doomed": i == doomed}})
    return Plan.model_validate({"goal": "stop", "steps": steps})


def _run_timed(tmp_path, plan: Plan, delays: dict[str, float], backoff_s: float,
               concurrency: int):
    registry = ToolRegistry()

    @registry.tool("work", retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.5, jitter=0))
    async def work(flaky: bool, doomed: bool, context: ToolContext) -> int:
        """Waits its drawn duration; fails once if flaky, for good if doomed."""
        await asyncio.sleep(delays.get(f"{context.step_id}:{context.attempt}", 0.0))
        if flaky and context.attempt == 1:
            raise RetryableToolError("first attempt fails")
        if doomed:
            raise ToolError("fails for good")
        return context.attempt

    async def backoff(_delay: float) -> None:
        await asyncio.sleep(backoff_s)

    engine = make_engine(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
    upgrade(engine)
    approved_plan(engine, plan, plan_id="p-fixed")
    runner = make_runner(engine, registry, tmp_path, concurrency=concurrency, sleep=backoff)
    runner.create_run("p-fixed", 1, plan, requested_by="alice", run_id="r-fixed")
    record = runner.run_sync("r-fixed")
    ledger = [(e.kind, e.payload) for e in Ledger(engine).events(subject="r-fixed")]
    engine.dispose()
    steps = {s.step_id: (s.status, s.output, s.error) for s in record.steps}
    return record.status, record.error, steps, ledger


timings = st.dictionaries(st.sampled_from([f"s{i}:{a}" for i in range(7) for a in (1, 2)]),
                          st.sampled_from([0.0, 0.005, 0.06]))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=failing_plans(), first=timings, second=timings,
       backoffs=st.tuples(st.sampled_from([0.0, 0.03]), st.sampled_from([0.0, 0.03])),
       concurrency=st.integers(2, 4))
def test_a_run_that_fails_ends_the_same_whatever_the_durations_and_backoffs(
        tmp_path, plan, first, second, backoffs, concurrency):
    a = _run_timed(tmp_path, plan, first, backoffs[0], concurrency)
    b = _run_timed(tmp_path, plan, second, backoffs[1], concurrency)
    assert a == b
    assert a[0] is RunStatus.FAILED
