"""A lease of any length the runner accepts is written so the database reads it: on
PostgreSQL ``f"{lease_s} seconds"`` made ``5e-05 seconds`` of 0.00005, an interval PostgreSQL
refuses, and every claim, renewal and run start of such a runner failed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from executor.records import RunStatus
from executor.store.runs import aware
from tests.executor.runsupport import (
    approved_plan,
    make_runner,
    one_step_plan,
    one_tool_registry,
    run_plan,
)


@pytest.mark.parametrize("lease_s", [0.00005, 1e-7, 12345.678901])
def test_a_lease_python_writes_in_exponent_form_still_holds(engine, tmp_path, lease_s):
    runner = make_runner(engine, one_tool_registry(), tmp_path, lease_s=lease_s)
    assert run_plan(runner, engine, one_step_plan()).status is RunStatus.SUCCEEDED


def test_a_queued_run_is_claimed_by_a_worker_with_a_tiny_lease(engine, tmp_path):
    plan = one_step_plan()
    runner = make_runner(engine, one_tool_registry(), tmp_path, lease_s=0.00005)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    assert runner.worker(once=True) == 1
    assert runner.store.get(run_id, detail=False).status is RunStatus.SUCCEEDED


def test_a_renewed_lease_lasts_what_was_asked_to_the_microsecond(engine, tmp_path):
    plan = one_step_plan()
    runner = make_runner(engine, one_tool_registry(), tmp_path)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    before = runner.store.database_now()
    assert runner.store.renew(run_id, runner.owner_id, 3600.000005) is False
    after = runner.store.database_now()
    lease = aware(runner.store.run_row(run_id)["lease_expires_at"])
    asked = timedelta(seconds=3600, microseconds=5)
    assert before + asked <= lease <= after + asked
