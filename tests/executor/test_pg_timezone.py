"""Times are UTC whatever time zone the PostgreSQL server or role is set to.

The columns hold UTC without a zone; a session in another zone would store an aware
time converted to its local clock, and a live owner's lease would read as expired.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from executor.ledger import Ledger
from executor.ownership import owner_gone
from executor.store.db import make_engine
from executor.store.migrate import upgrade
from planner.plan import Plan
from tests.executor.conftest import _PG, drop_pg_schema, pg_schema_url
from tests.executor.runsupport import approved_plan, make_runner, one
from tools import ToolRegistry

pytestmark = pytest.mark.postgres


@pytest.fixture
def new_york_engine():
    if not _PG:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema, url = pg_schema_url()
    engine = make_engine(url + "%20-ctimezone%3DAmerica/New_York")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        drop_pg_schema(schema)


def _claimed(engine, tmp_path, lease_s: float):
    """A runner, another one, and a one-step run the first has claimed for ``lease_s``."""
    registry = ToolRegistry()
    registry.register_function(one, name="one")
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "one"}]})
    runner, other = (make_runner(engine, registry, tmp_path) for _ in range(2))
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    assert runner.store.claim_next(runner.owner_id, lease_s)[0] == run_id
    return runner, other, run_id


def test_a_fresh_lease_reads_back_unexpired_in_a_session_set_to_another_zone(new_york_engine, tmp_path):
    runner, other, run_id = _claimed(new_york_engine, tmp_path, 600.0)
    record = runner.store.get(run_id, detail=False)
    now = datetime.now(UTC)
    assert abs(record.created_at - now) < timedelta(minutes=1)
    assert timedelta(minutes=9) < record.lease_expires_at - now <= timedelta(minutes=10)
    assert not owner_gone("other-host:1:x", record.lease_expires_at, now)
    assert other.store.claim_next(other.owner_id, 600.0) is None  # a live lease is not up for grabs


def test_an_expired_lease_is_up_for_grabs_in_a_session_set_to_another_zone(new_york_engine, tmp_path):
    _, other, run_id = _claimed(new_york_engine, tmp_path, -60.0)  # a lease already over
    assert other.store.claim_next(other.owner_id, 600.0)[0] == run_id
    assert other.run_sync(run_id).status.value == "succeeded"
    ledger = Ledger(new_york_engine)
    assert ledger.verify().ok
    assert abs(ledger.events(subject=run_id)[-1].at - datetime.now(UTC)) < timedelta(minutes=1)
