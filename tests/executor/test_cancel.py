"""Cancelling a run through the application: who asked is recorded, a cancel racing a worker's
claim reports what the store did, and a run whose owner is gone is ended cancelled at once."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from baton.services import Services
from baton.settings import Settings, User
from baton.usecases.runs import cancel_run, make_runner, start_run
from executor.records import RunStatus
from executor.runner import RunError
from executor.scheduling import StepStatus
from executor.store.runs import RunStore
from executor.store.schema import RunRow
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


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("gone", ["lease expired", "process dead on this host"])
def test_cancelling_a_run_whose_owner_is_gone_ends_it_cancelled(services, gone):
    run_id = _queued_run(services)
    if gone == "lease expired":
        _set_owner(services, run_id, "gone-host:1:x", lease_s=-1)
    else:
        _set_owner(services, run_id, f"{socket.gethostname()}:{_dead_pid()}:x", lease_s=60)
    record = cancel_run(services, run_id, CAROL)
    assert record.status is RunStatus.CANCELLED and record.owner is None
    assert [s.status for s in record.steps] == [StepStatus.PENDING, StepStatus.PENDING]
    events = _events(services, run_id)
    assert events[-4:] == [("cancel_request", "carol"), ("run_resume", "carol"),
                           ("run_cancel", "executor"), ("run_end", "executor")]
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
