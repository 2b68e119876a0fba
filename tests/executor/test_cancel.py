"""Cancelling a run through the application: who asked is recorded, a cancel racing a worker's
claim reports what the store did, and a run whose owner is gone is ended cancelled at once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from baton.services import Services
from baton.settings import Settings, User
from baton.usecases.runs import cancel_run, make_runner, start_run
from executor.records import AttemptStatus, RunStatus
from executor.runner import RunError
from executor.scheduling import StepStatus
from executor.store.runs import RunStore
from executor.store.schema import PlanVersionRow, RunRow, StepRunRow
from tests.support.approved_plans import ALICE, BOB, approved_copy_plan
from tests.support.policy_tools import policy_registry

CAROL = User(id="carol", roles=("analyst",))


@pytest.fixture
def services(db_url, tmp_path):
    settings = Settings.model_validate({
        "data_dir": tmp_path / ".baton", "database_url": db_url,
        "users": {u.id: u.model_dump() for u in (ALICE, BOB, CAROL)}})
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "sales.csv").write_text("region,total\nnorth,3\n")
    built = Services(settings, registry=policy_registry(workspace))
    yield built
    built.engine.dispose()


def _queued_run(services) -> str:
    return start_run(services, approved_copy_plan(services), ALICE, detach=True).id


def _set_owner(services, run_id: str, owner: str, lease_s: float) -> None:
    with Session(services.engine) as s:
        s.execute(update(RunRow).where(RunRow.id == run_id).values(
            owner=owner, status="running", started_at=datetime.now(UTC),
            lease_expires_at=datetime.now(UTC) + timedelta(seconds=lease_s)))
        s.commit()


def _events(services, run_id: str) -> list[tuple[str, str]]:
    return [(e.kind, e.actor) for e in services.ledger.events(subject=run_id)]


def test_a_cancel_request_is_recorded_in_the_ledger_with_who_asked(services):
    run_id = _queued_run(services)
    worker = make_runner(services)
    assert worker.store.claim_next(worker.owner_id, 60.0)[0] == run_id  # a live owner
    record = cancel_run(services, run_id, CAROL)
    assert record.cancel_requested and record.owner == worker.owner_id
    (requested,) = services.ledger.events(subject=run_id, kinds=["cancel_request"])
    assert requested.actor == "carol" and requested.payload == {"status": "queued"}

    assert worker.run_sync(run_id).status is RunStatus.CANCELLED
    assert _events(services, run_id)[-3:] == [
        ("cancel_request", "carol"), ("run_cancel", "executor"), ("run_end", "executor")]
    assert services.ledger.verify().ok


def test_a_refused_cancel_names_the_status_the_run_ended_with_and_records_nothing(services):
    run_id = _queued_run(services)
    assert make_runner(services).store.claim_next("someone", 60.0)
    make_runner(services).store.finish(run_id, "someone", RunStatus.SUCCEEDED, None)
    with pytest.raises(RunError, match=f"run {run_id} has already succeeded; nothing to cancel"):
        cancel_run(services, run_id, CAROL)
    assert services.ledger.events(subject=run_id, kinds=["cancel_request"]) == []


def test_a_cancel_racing_a_workers_claim_reports_the_request_it_made(services, monkeypatch):
    run_id = _queued_run(services)
    worker = make_runner(services)
    request_cancel = RunStore.request_cancel

    def then_a_worker_claims(store, *args, **kwargs):
        flagged = request_cancel(store, *args, **kwargs)
        assert worker.store.claim_next(worker.owner_id, 60.0)[0] == run_id
        return flagged

    monkeypatch.setattr(RunStore, "request_cancel", then_a_worker_claims)
    record = cancel_run(services, run_id, CAROL)
    assert record.cancel_requested and record.owner == worker.owner_id
    assert record.status is RunStatus.QUEUED
    monkeypatch.undo()
    # The worker that won the claim sees the flag before starting any step.
    done = worker.run_sync(run_id)
    assert done.status is RunStatus.CANCELLED
    assert [s.status for s in done.steps] == [StepStatus.PENDING, StepStatus.PENDING]


def _dead_owner() -> str:
    """The owner id a process on this host had, that process now dead."""
    from executor.ownership import owner_id_for

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    owner = owner_id_for(child.pid, "x")
    child.kill()
    child.wait()
    return owner


@pytest.mark.parametrize("gone", ["lease expired", "process dead on this host"])
def test_cancelling_a_run_whose_owner_is_gone_ends_it_cancelled(services, gone):
    run_id = _queued_run(services)
    if gone == "lease expired":
        _set_owner(services, run_id, "gone-host:1:x", lease_s=-1)
    else:
        _set_owner(services, run_id, _dead_owner(), lease_s=60)
    record = cancel_run(services, run_id, CAROL)
    assert record.status is RunStatus.CANCELLED and record.owner is None
    assert [s.status for s in record.steps] == [StepStatus.PENDING, StepStatus.PENDING]
    events = _events(services, run_id)
    assert events[-3:] == [("cancel_request", "carol"), ("run_cancel", "carol"),
                           ("run_end", "carol")]
    assert services.ledger.events(subject=run_id)[-1].payload == {"status": "cancelled",
                                                                 "error": None}
    assert services.ledger.verify().ok


def test_cancelling_a_run_whose_owner_lives_leaves_it_to_that_owner(services):
    run_id = _queued_run(services)
    _set_owner(services, run_id, "other-host:1:x", lease_s=60)
    record = cancel_run(services, run_id, CAROL)
    assert record.status is RunStatus.RUNNING and record.cancel_requested
    assert record.owner == "other-host:1:x"
    assert _events(services, run_id)[-1] == ("cancel_request", "carol")


STALLED = "stalled-host:1:x"


def _stalled_run(services) -> tuple[str, RunStore]:
    """A run whose owner let its lease lapse but is alive (it may still act on the run)."""
    run_id = _queued_run(services)
    _set_owner(services, run_id, STALLED, lease_s=-1)
    return run_id, RunStore(services.engine, services.ledger)


def _cancel_then(services, run_id: str, monkeypatch, owner_acts):
    """Cancel ``run_id``; the owner acts (``owner_acts()``) just after the flag goes up."""
    request_cancel = RunStore.request_cancel

    def then_the_owner_acts(self, *args, **kwargs):
        flagged = request_cancel(self, *args, **kwargs)
        owner_acts()
        return flagged

    monkeypatch.setattr(RunStore, "request_cancel", then_the_owner_acts)
    return cancel_run(services, run_id, CAROL)


def test_a_cancel_never_resumes_a_run_that_failed_while_it_was_being_asked(services, monkeypatch):
    # The owner's lease lapsed but it was alive: it ended the run failed right after the
    # flag went up. The cancel must not take the failed run over and run its steps again.
    run_id, store = _stalled_run(services)
    record = _cancel_then(services, run_id, monkeypatch, lambda: store.finish(
        run_id, STALLED, RunStatus.FAILED, "step read failed: boom"))
    assert record.status is RunStatus.FAILED and record.error == "step read failed: boom"
    assert [s.status for s in record.steps] == [StepStatus.PENDING, StepStatus.PENDING]
    kinds = [kind for kind, _ in _events(services, run_id)]
    assert "run_resume" not in kinds and "attempt_start" not in kinds
    assert kinds[-2:] == ["cancel_request", "run_end"]


def test_a_cancel_leaves_a_run_whose_owner_renewed_its_lease_to_that_owner(services, monkeypatch):
    run_id, store = _stalled_run(services)
    record = _cancel_then(services, run_id, monkeypatch,
                          lambda: store.renew(run_id, STALLED, 60.0))
    assert record.status is RunStatus.RUNNING and record.owner == STALLED
    assert record.cancel_requested
    assert _events(services, run_id)[-1] == ("cancel_request", "carol")


def test_cancelling_an_abandoned_run_whose_plan_changed_still_ends_it_cancelled(services):
    run_id = _queued_run(services)
    record = show_run_row(services, run_id)
    with Session(services.engine) as s:
        s.execute(update(PlanVersionRow).where(
            PlanVersionRow.plan_id == record["plan_id"],
            PlanVersionRow.version == record["version"]).values(plan_json='{"changed": true}'))
        s.commit()
    _set_owner(services, run_id, "gone-host:1:x", lease_s=-1)
    done = cancel_run(services, run_id, CAROL)
    assert done.status is RunStatus.CANCELLED and done.error is None


def test_cancelling_a_run_killed_mid_step_ends_that_step_failed_its_attempt_interrupted(services):
    """The run is final: the step in flight ends (failed, ended now), never "pending" (not
    started, as a resume would leave it) with no end although its attempt #1 started."""
    run_id = _queued_run(services)
    _set_owner(services, run_id, "gone-host:1:x", lease_s=-1)
    with Session(services.engine) as s:
        s.execute(update(StepRunRow).where(StepRunRow.run_id == run_id,
                                           StepRunRow.position == 0).values(
            status="running", attempts=1,
            attempt_log='[{"attempt": 1, "status": "started", "started_at": "2026-12-05T10:00:00+00:00"}]'))
        s.commit()
    record = cancel_run(services, run_id, CAROL)
    assert record.status is RunStatus.CANCELLED
    first, second = record.steps
    assert first.status is StepStatus.FAILED and first.ended_at is not None
    assert first.error == "interrupted: its owner stopped before recording a result; " \
                          "not tried again: the run was cancelled"
    assert [a.status for a in first.attempt_log] == [AttemptStatus.INTERRUPTED]
    assert second.status is StepStatus.PENDING and second.ended_at is None  # never started
    (cancel,) = services.ledger.events(subject=run_id, kinds=["run_cancel"])
    assert cancel.actor == "carol"
    assert cancel.payload == {"previous_owner": "gone-host:1:x", "interrupted": [first.step_id]}


def show_run_row(services, run_id: str) -> dict:
    return RunStore(services.engine, services.ledger).run_row(run_id)


def test_a_resume_that_read_the_run_before_a_cancel_ended_it_does_not_revive_it(services):
    run_id = _queued_run(services)
    resumer = make_runner(services)
    seen = resumer.store.run_row(run_id)  # queued, nobody's: the resumer may take it
    assert cancel_run(services, run_id, CAROL).status is RunStatus.CANCELLED
    assert resumer.store.take_over(run_id, resumer.owner_id, expected_owner=seen["owner"],
                                   expected_lease=seen["lease_expires_at"], lease_s=60) is None
    record = resumer.store.get(run_id, detail=False)
    assert record.status is RunStatus.CANCELLED and record.owner is None
    assert _events(services, run_id)[-1] == ("run_end", "carol")


def test_a_cancel_on_a_machine_whose_clock_runs_ahead_leaves_a_live_owners_run_to_it(
        services, monkeypatch):
    """The lease is judged by the database's clock on PostgreSQL (SQLite: the one machine's)."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's processes share one machine's clock")
    from datetime import UTC, datetime, timedelta

    import executor.store.runs as runs_module

    run_id = _queued_run(services)
    worker = make_runner(services)
    assert worker.store.claim_next(worker.owner_id, 60.0)[0] == run_id
    monkeypatch.setattr(runs_module, "utcnow", lambda: datetime.now(UTC) + timedelta(hours=1))
    record = cancel_run(services, run_id, CAROL)
    assert record.status is RunStatus.QUEUED and record.owner == worker.owner_id
    assert record.cancel_requested
