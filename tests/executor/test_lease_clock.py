"""On PostgreSQL leases go by the database's clock: a worker whose own clock runs ahead
never takes a live run, and an owner whose clock runs behind still holds its lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, one
from tools import ToolRegistry

PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "one"}]})


def _skewed(by: timedelta):
    return lambda: datetime.now(UTC) + by


@pytest.fixture
def pg_engine(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite is one machine's file: its processes share that machine's clock")
    return engine


def _owned_run(engine, tmp_path, **options):
    registry = ToolRegistry()
    registry.register_function(one, name="one")
    owner = make_runner(engine, registry, tmp_path, **options)
    run_id = owner.create_run(approved_plan(engine, PLAN), 1, PLAN, requested_by="alice")
    return registry, owner, run_id


def test_a_worker_whose_clock_runs_ahead_does_not_claim_a_live_run(pg_engine, tmp_path):
    registry, owner, run_id = _owned_run(pg_engine, tmp_path, lease_s=30)
    ahead = make_runner(pg_engine, registry, tmp_path, clock=_skewed(timedelta(hours=1)))
    assert ahead.store.claim_next(ahead.owner_id, 30) is None
    assert owner.store.run_row(run_id)["owner"] == owner.owner_id


def test_an_owner_whose_clock_runs_behind_renews_a_lease_that_holds(pg_engine, tmp_path):
    registry, owner, run_id = _owned_run(pg_engine, tmp_path, lease_s=30,
                                         clock=_skewed(-timedelta(hours=1)))
    assert owner.store.renew(run_id, owner.owner_id, 30) is False
    lease = owner.store.get(run_id, detail=False).lease_expires_at
    assert timedelta(seconds=20) < lease - owner.store.database_now() <= timedelta(seconds=30)
    other = make_runner(pg_engine, registry, tmp_path)
    assert other.store.claim_next(other.owner_id, 30) is None


def test_an_expired_lease_is_claimed_whatever_the_claimers_clock_says(pg_engine, tmp_path):
    registry, owner, run_id = _owned_run(pg_engine, tmp_path, lease_s=0.01)
    import time

    time.sleep(0.05)
    behind = make_runner(pg_engine, registry, tmp_path, clock=_skewed(-timedelta(hours=1)))
    claimed = behind.store.claim_next(behind.owner_id, 30)
    assert claimed is not None and claimed[0] == run_id


def test_the_database_clock_is_read_as_utc(engine):
    from executor.store.runs import RunStore
    from executor.ledger import Ledger

    now = RunStore(engine, Ledger(engine)).database_now()
    assert now.tzinfo is UTC and abs(now - datetime.now(UTC)) < timedelta(minutes=1)


def test_resume_on_a_machine_whose_clock_runs_ahead_refuses_a_live_run(pg_engine, tmp_path):
    from executor.errors import RunOwnedError

    registry, owner, run_id = _owned_run(pg_engine, tmp_path, lease_s=30)
    ahead = make_runner(pg_engine, registry, tmp_path, clock=_skewed(timedelta(hours=1)))
    with pytest.raises(RunOwnedError, match="still alive"):
        ahead.take_over(run_id)
    assert owner.store.run_row(run_id)["owner"] == owner.owner_id
