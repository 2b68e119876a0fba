"""On PostgreSQL the queue goes by the database's clock: a run queued from a machine whose
clock runs ahead or behind keeps its place (first queued, first claimed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, one
from tools import ToolRegistry

PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "one"}]})


@pytest.fixture
def pg_engine(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite is one machine's file: its processes share that machine's clock")
    return engine


def _skewed(by: timedelta):
    return lambda: datetime.now(UTC) + by


def _registry() -> ToolRegistry:
    registry = ToolRegistry()
    registry.register_function(one, name="one")
    return registry


def test_runs_are_claimed_in_the_order_queued_whatever_the_queuers_clocks_say(pg_engine, tmp_path):
    registry, plan_id = _registry(), approved_plan(pg_engine, PLAN)
    clocks = [timedelta(minutes=10), timedelta(0), timedelta(0), -timedelta(minutes=10)]
    queued = []
    for i, skew in enumerate(clocks):
        queuer = make_runner(pg_engine, registry, tmp_path, clock=_skewed(skew))
        queued.append(queuer.create_run(plan_id, 1, PLAN, requested_by="alice",
                                        run_id=f"r-{i}", detach=True))
    worker = make_runner(pg_engine, registry, tmp_path)
    claimed = []
    while (got := worker.store.claim_next(worker.owner_id, 30)) is not None:
        claimed.append(got[0])
    assert claimed == queued


def test_a_run_is_stamped_with_the_databases_clock(pg_engine, tmp_path):
    queuer = make_runner(pg_engine, _registry(), tmp_path, clock=_skewed(timedelta(hours=1)))
    run_id = queuer.create_run(approved_plan(pg_engine, PLAN), 1, PLAN, requested_by="alice",
                               detach=True)
    created = queuer.store.get(run_id, detail=False).created_at
    assert abs(created - queuer.store.database_now()) < timedelta(minutes=1)
    assert created.tzinfo is not None
