"""A run drained at any step and finished by another worker ends with the outputs of a run
that went through, each step's tool having succeeded once (see ``test_determinism``)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executor.draining import Drain
from executor.store.db import make_engine
from executor.store.migrate import upgrade
from tests.executor.runsupport import approved_plan, make_runner, no_wait
from tests.executor.test_determinism import plans
from tools import RetryableToolError, ToolContext, ToolRegistry


def registry_draining(drain: Drain | None, at: str, succeeded: Counter[str]) -> ToolRegistry:
    """``work`` as in test_determinism; its call at step ``at`` requests ``drain`` (the signal
    comes while that step runs)."""
    registry = ToolRegistry()

    @registry.tool("work")
    async def work(n: int, inputs: list[int], flaky: bool, context: ToolContext) -> int:
        """Sum its inputs and n (failing its first attempt if flaky)."""
        if drain is not None and context.step_id == at:
            drain.request()
        await asyncio.sleep(0)
        if flaky and context.attempt == 1:
            raise RetryableToolError("first attempt fails")
        succeeded[context.step_id] += 1
        return n + sum(inputs)

    return registry


def outputs(tmp, plan, *, drained_at: str | None, concurrency: int):
    engine = make_engine(f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}")
    upgrade(engine)
    plan_id = approved_plan(engine, plan)
    succeeded: Counter[str] = Counter()
    drain = Drain(grace_s=600) if drained_at else None
    registry = registry_draining(drain, drained_at or "", succeeded)
    first = make_runner(engine, registry, tmp, concurrency=concurrency, sleep=no_wait)
    run_id = first.create_run(plan_id, 1, plan, requested_by="alice", detach=True)
    first.worker(once=True, drain=drain)
    if drain is not None:  # another worker finishes what the drained one left
        make_runner(engine, registry, tmp, concurrency=concurrency, sleep=no_wait).worker(
            once=True)
    record = first.store.get(run_id)
    engine.dispose()
    assert record is not None
    return {s.step_id: s.output for s in record.steps}, record.status.value, succeeded


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans(), data=st.data(), concurrency=st.integers(1, 4))
def test_a_run_drained_at_any_step_ends_as_one_that_went_through(tmp_path, plan, data,
                                                                  concurrency):
    at = data.draw(st.sampled_from([s.id for s in plan.steps]))
    through, status, _ = outputs(tmp_path, plan, drained_at=None, concurrency=concurrency)
    drained, drained_status, succeeded = outputs(tmp_path, plan, drained_at=at,
                                                 concurrency=concurrency)
    assert (drained, drained_status) == (through, status) == (drained, "succeeded")
    assert succeeded == Counter({s.id: 1 for s in plan.steps})
