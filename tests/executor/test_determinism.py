"""Any DAG, any step durations: the same outputs and the same ledger (timings aside)."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executor.ledger import Ledger
from executor.store.db import make_engine
from executor.store.migrate import upgrade
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, no_wait
from tools import RetryableToolError, ToolContext, ToolRegistry


@st.composite
def plans(draw):
    """Random DAGs whose steps sum their inputs; some fail once, retryably."""
    n = draw(st.integers(1, 8))
    steps = []
    for i in range(n):
        refs = sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else []
        steps.append({"id": f"s{i}", "tool": "work",
                      "args": {"n": i, "inputs": [{"ref": f"s{r}.value"} for r in refs],
                               "flaky": draw(st.booleans())}})
    return Plan.model_validate({"goal": "determinism", "steps": steps})


def registry_with(delays: dict[str, float]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("work")
    async def work(n: int, inputs: list[int], flaky: bool, context: ToolContext) -> int:
        """Waits its drawn duration, then sums its inputs and n (fails its first attempt if flaky)."""
        await asyncio.sleep(delays.get(context.step_id, 0.0))
        if flaky and context.attempt == 1:
            raise RetryableToolError("first attempt fails")
        return n + sum(inputs)

    return registry


def run_once(tmp, plan, delays, concurrency):
    engine = make_engine(f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}")
    upgrade(engine)
    approved_plan(engine, plan, plan_id="p-fixed")
    runner = make_runner(engine, registry_with(delays), tmp, concurrency=concurrency, sleep=no_wait)
    runner.create_run("p-fixed", 1, plan, requested_by="alice", run_id="r-fixed")
    record = runner.run_sync("r-fixed")
    ledger = [(e.kind, e.subject, e.payload) for e in Ledger(engine).events()]
    engine.dispose()
    return {s.step_id: s.output for s in record.steps}, record.status, ledger


durations = st.dictionaries(st.sampled_from([f"s{i}" for i in range(8)]),
                            st.sampled_from([0.0, 0.001, 0.005, 0.01]))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans(), first=durations, second=durations, concurrency=st.integers(1, 4))
def test_outputs_and_ledger_do_not_depend_on_step_durations(tmp_path, plan, first, second, concurrency):
    a = run_once(tmp_path, plan, first, concurrency)
    b = run_once(tmp_path, plan, second, concurrency)
    assert a == b
    assert a[1].value == "succeeded"
