"""An owner that stalled after claiming a run, and lost it meanwhile, must not touch it again."""

from __future__ import annotations

import threading
import time

import pytest

from executor.errors import LeaseLostError, RunOwnedError
from executor.ledger import Ledger
from executor.records import RunStatus
from planner.plan import Plan
from tests.executor.runsupport import (approved_plan, make_runner, one_step_plan,
                                       one_tool_registry)
from tools import ToolRegistry


def _claimed_briefly(engine, registry: ToolRegistry, tmp_path, plan: Plan):
    """A first owner and a run it claimed with a lease of 50 ms."""
    first = make_runner(engine, registry, tmp_path, lease_s=0.05)
    run_id = first.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice", detach=True)
    assert first.store.claim_next(first.owner_id, 0.05)[0] == run_id
    return first, run_id


def test_a_stale_owner_cannot_mark_a_run_finished_by_its_new_owner_running(engine, tmp_path):
    registry, plan = one_tool_registry(), one_step_plan()
    first, run_id = _claimed_briefly(engine, registry, tmp_path, plan)
    time.sleep(0.1)  # first stalls: its lease runs out
    second = make_runner(engine, registry, tmp_path)
    assert second.worker(once=True) == 1
    events = Ledger(engine).events(subject=run_id)

    with pytest.raises(LeaseLostError, match=run_id):
        first.store.mark_running(run_id, first.owner_id)
    record = second.store.get(run_id, detail=False)
    assert record.status is RunStatus.SUCCEEDED and record.owner is None
    assert Ledger(engine).events(subject=run_id) == events


def test_a_runner_that_lost_its_run_before_starting_it_stops_without_touching_it(engine, tmp_path):
    """The runner read the run as its own, then stalled (here: in the admission check) while
    another worker took the run over and finished it."""
    registry, plan = one_tool_registry(), one_step_plan()
    taken: list[RunStatus] = []

    def stall(plan_id: str, version: int) -> None:
        time.sleep(0.1)  # past the lease
        other = make_runner(engine, registry, tmp_path)
        thread = threading.Thread(target=lambda: taken.append(
            other.resume_sync(run_id, detail=False).status))
        thread.start()
        thread.join()

    first = make_runner(engine, registry, tmp_path, lease_s=0.05, admission=stall)
    run_id = first.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(LeaseLostError, match=run_id):
        first.run_sync(run_id)
    assert taken == [RunStatus.SUCCEEDED]
    record = first.store.get(run_id, detail=False)
    assert record.status is RunStatus.SUCCEEDED and record.owner is None
    assert [e.kind for e in Ledger(engine).events(subject=run_id)][-1] == "run_end"


def test_a_takeover_loses_to_an_owner_that_renews_its_lease_while_being_judged_gone(
        engine, tmp_path, monkeypatch):
    registry, plan = one_tool_registry(), one_step_plan()
    first, run_id = _claimed_briefly(engine, registry, tmp_path, plan)
    time.sleep(0.1)  # first stalls: its lease runs out
    second = make_runner(engine, registry, tmp_path)
    read_row = second.store.run_row

    def then_the_owner_wakes_up(rid):
        row = read_row(rid)  # what the takeover judges gone
        assert first.store.renew(run_id, first.owner_id, 60.0) is False
        return row

    monkeypatch.setattr(second.store, "run_row", then_the_owner_wakes_up)
    with pytest.raises(RunOwnedError, match="renewed its lease"):
        second.take_over(run_id)
    assert second.store.get(run_id, detail=False).owner == first.owner_id
    assert [e.kind for e in Ledger(engine).events(subject=run_id)][-1] == "run_start"


def test_the_store_refuses_a_claim_on_an_owner_whose_lease_moved_past_the_one_seen(engine, tmp_path):
    registry, plan = one_tool_registry(), one_step_plan()
    first, run_id = _claimed_briefly(engine, registry, tmp_path, plan)
    seen = first.store.run_row(run_id)["lease_expires_at"]
    assert first.store.renew(run_id, first.owner_id, 60.0) is False
    second = make_runner(engine, registry, tmp_path)
    assert second.store.take_over(run_id, second.owner_id, expected_owner=first.owner_id,
                                  expected_lease=seen, lease_s=30) is None
    moved = first.store.run_row(run_id)["lease_expires_at"]
    assert second.store.take_over(run_id, second.owner_id, expected_owner=first.owner_id,
                                  expected_lease=moved, lease_s=30) is not None
