"""An admission check that cannot judge a run now leaves the run for later, never failed.

The worker looks at its settings file before each claim, but the file can break in the
moment between that look and the run's admission check (which reads the users again): the
check then raised a settings error, which the runner took for a refusal, and the run ended
``failed`` for good over a half-saved file. A database failure under the check did the same.
Now such a check leaves the run as it was, its lease given up, for the next claim.
"""

from __future__ import annotations

import pytest

from executor.errors import RunDeferredError
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.store.db import StoreError
from tests.executor.runsupport import (approved_plan, make_runner, one_step_plan,
                                       one_tool_registry)
from tools import BatonError


class _FileBroke(RunDeferredError):
    """What an application's settings error is: it cannot judge the run now."""


def test_a_check_that_cannot_judge_now_leaves_the_run_queued_for_the_next_claim(
        engine, tmp_path):
    registry, plan = one_tool_registry(), one_step_plan()
    checks: list[str] = []

    def admission(plan_id: str, version: int) -> None:
        checks.append(plan_id)
        if len(checks) == 1:
            raise _FileBroke("the settings file does not load: line 3")

    runner = make_runner(engine, registry, tmp_path, admission=admission)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    # The worker stops claiming as it sees the file broken (here: after one claim).
    assert runner.worker(once=True, should_stop=lambda: bool(checks)) == 0  # given back, not run

    record = runner.store.get(run_id, detail=False)
    assert record.status is RunStatus.QUEUED and record.error is None
    assert "run_end" not in [e.kind for e in Ledger(engine).events(subject=run_id)]
    assert runner.worker(once=True) == 1  # given back at once: claimed again, and run
    assert runner.store.get(run_id, detail=False).status is RunStatus.SUCCEEDED


def test_a_database_failure_under_the_check_leaves_the_run_to_its_lease(engine, tmp_path):
    """Left as it is, not given back: a failure that lasts must not have it claimed in a loop."""
    registry, plan = one_tool_registry(), one_step_plan()
    checks: list[str] = []

    def admission(plan_id: str, version: int) -> None:
        checks.append(plan_id)
        raise StoreError("reading plan p: database is locked")

    runner = make_runner(engine, registry, tmp_path, admission=admission)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    assert runner.worker(once=True) == 0  # left, not run; its lease holds: not claimed again
    assert len(checks) == 1

    record = runner.store.get(run_id, detail=False)
    assert record.status is RunStatus.QUEUED and record.error is None
    assert record.owner == runner.owner_id
    assert "run_end" not in [e.kind for e in Ledger(engine).events(subject=run_id)]


def test_a_foreground_run_whose_check_cannot_judge_now_raises_and_stays_queued(engine, tmp_path):
    registry, plan = one_tool_registry(), one_step_plan()

    def admission(plan_id: str, version: int) -> None:
        raise _FileBroke("the settings file does not load: line 3")

    runner = make_runner(engine, registry, tmp_path, admission=admission)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(RunDeferredError, match="line 3"):
        runner.run_sync(run_id)
    assert runner.store.get(run_id, detail=False).status is RunStatus.QUEUED


def test_a_refusal_still_ends_the_run_failed_naming_it(engine, tmp_path):
    registry, plan = one_tool_registry(), one_step_plan()

    def admission(plan_id: str, version: int) -> None:
        raise BatonError(f"plan {plan_id} v{version} is rejected, not approved")

    runner = make_runner(engine, registry, tmp_path, admission=admission)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    assert runner.worker(once=True) == 1
    record = runner.store.get(run_id, detail=False)
    assert record.status is RunStatus.FAILED and "rejected, not approved" in record.error
