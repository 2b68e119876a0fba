"""Approvals go by the database's clock, on SQLite and PostgreSQL: an approval is stamped with
the database's time when it is given, and whether it still counts is judged against the
database's time, whatever the clock of the machine approving, listing, or starting the run.

Several API servers and workers on several machines share one PostgreSQL database; a
machine's clock two hours off used to lengthen or shorten every approval it stamped or
judged. Each test sets "this machine's" clock off by patching the clock the approval use
cases could read (``datetime`` in their modules); the database's clock is the real one.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from baton.services import Services
from baton.usecases import approving, deciding, gates, plan_listing
from baton.usecases.approval_records import approval_history
from baton.usecases.approving import approve, reject
from baton.usecases.deciding import vet_version
from baton.usecases.gates import NotApprovedError, gate_state, require_approved
from baton.usecases.plan_listing import listed_plans
from executor.store.approvals import add_decision
from planner.versions import StoredVersion, VersionStatus
from policies.approval import ApprovalKind, GateStatus
from tests.support.gate_services import ALICE, BOB, WRITE_PLAN, services_on, store_version

TTL = timedelta(hours=1)  # services_on's approval_ttl_s
SKEW = timedelta(hours=2)
EXPIRED = "approval lapsed (expired)"
# Modules that judge or stamp approvals: none may take the time from this machine's clock.
JUDGES: tuple[types.ModuleType, ...] = (approving, deciding, gates, plan_listing)


@pytest.fixture
def services(url, tmp_path) -> Iterator[Services]:
    made = services_on(url, tmp_path)
    yield made
    made.engine.dispose()


@pytest.fixture
def machine_clock(monkeypatch) -> Callable[[timedelta], AbstractContextManager[None]]:
    """``with machine_clock(skew):`` this machine's clock runs ``skew`` off the real one
    (which the database's is) inside the block."""

    @contextmanager
    def skewed(by: timedelta) -> Iterator[None]:
        class SkewedDatetime(datetime):
            @classmethod
            def now(cls, tz=None):  # noqa: ANN001, ANN206 (datetime.now's own signature)
                return datetime.now(tz) + by

        with monkeypatch.context() as patch:
            for module in JUDGES:
                patch.setattr(module, "datetime", SkewedDatetime)
            yield

    return skewed


def _database_now(services: Services) -> datetime:
    """The database server's time, read here as a check (SQLite's is this machine's)."""
    if services.engine.dialect.name != "postgresql":
        return datetime.now(UTC)
    with services.engine.connect() as connection:
        return connection.execute(text("SELECT clock_timestamp()")).scalar_one().astimezone(UTC)


def _decided(services: Services) -> StoredVersion:
    version = store_version(services, WRITE_PLAN)
    vet_version(services, version)
    return version


def _close(at: datetime, to: datetime) -> bool:
    return abs(at - to) < timedelta(minutes=1)


def test_an_approval_given_on_a_machine_whose_clock_runs_behind_counts_for_its_ttl(
        services, machine_clock):
    version = _decided(services)
    with machine_clock(-SKEW):
        assert approve(services, version.plan_id, BOB).status is GateStatus.APPROVED
    (record,) = approval_history(services, version.plan_id)
    assert _close(record.decided_at, _database_now(services))
    assert record.expires_at is not None
    assert _close(record.expires_at, _database_now(services) + TTL)
    # Stamped two hours back, it had expired an hour before it was given.
    assert gate_state(services, version.plan_id).status is GateStatus.APPROVED
    require_approved(services, version.plan_id)


def test_an_approval_given_on_a_machine_whose_clock_runs_ahead_does_not_outlive_its_ttl(
        services, machine_clock):
    version = _decided(services)
    with machine_clock(SKEW):
        approve(services, version.plan_id, BOB)
    (record,) = approval_history(services, version.plan_id)
    assert _close(record.decided_at, _database_now(services))
    later = _database_now(services) + TTL + timedelta(minutes=30)
    state = gate_state(services, version.plan_id, now=later)
    assert state.status is GateStatus.PENDING
    assert any("expired" in reason for reason in state.reasons)


def test_a_rejection_is_stamped_with_the_databases_clock(services, machine_clock):
    version = _decided(services)
    with machine_clock(SKEW):
        reject(services, version.plan_id, BOB, reason="not this week")
    (record,) = approval_history(services, version.plan_id)
    assert record.kind is ApprovalKind.REJECT
    assert _close(record.decided_at, _database_now(services))


def test_a_machine_whose_clock_runs_ahead_still_counts_a_current_approval(services,
                                                                           machine_clock):
    version = _decided(services)
    approve(services, version.plan_id, BOB)
    with machine_clock(SKEW):
        assert gate_state(services, version.plan_id).status is GateStatus.APPROVED
        assert require_approved(services, version.plan_id).version == version.version
        (listed,) = listed_plans(services)
        assert listed.approval_lapsed is None
        assert listed_plans(services, VersionStatus.PENDING_APPROVAL) == []


def test_a_machine_whose_clock_runs_behind_sees_an_expired_approval_expired(services,
                                                                           machine_clock):
    version = _decided(services)
    approve(services, version.plan_id, BOB, now=_database_now(services) - TTL - timedelta(
        minutes=30))
    with machine_clock(-SKEW):
        state = gate_state(services, version.plan_id)
        assert state.status is GateStatus.PENDING
        with pytest.raises(NotApprovedError, match="expired"):
            require_approved(services, version.plan_id)
        (waiting,) = listed_plans(services, VersionStatus.PENDING_APPROVAL)
        assert (waiting.version.plan_id, waiting.approval_lapsed) == (version.plan_id, EXPIRED)
        # bob may approve again from this machine, and the approval counts for its TTL.
        assert approve(services, version.plan_id, BOB).status is GateStatus.APPROVED
    require_approved(services, version.plan_id)


def _workspace_file(services: Services, name: str) -> None:
    workspace = services.settings.resolved_workspace
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / name).write_text("a,b\n")


def test_a_worker_whose_clock_runs_ahead_runs_a_run_whose_approval_still_counts(
        services, machine_clock):
    from baton.usecases.runs import run_worker, show_run, start_run
    from executor.records import RunStatus

    _workspace_file(services, "sales.csv")
    version = _decided(services)
    approve(services, version.plan_id, BOB)
    queued = start_run(services, version.plan_id, ALICE, detach=True)
    with machine_clock(SKEW):  # the worker's machine
        assert run_worker(services, once=True) == 1
    assert show_run(services, queued.run_id).status is RunStatus.SUCCEEDED


def test_a_run_started_on_a_machine_whose_clock_runs_behind_is_refused_once_expired(
        services, machine_clock):
    from baton.usecases.runs import start_run

    _workspace_file(services, "sales.csv")
    version = _decided(services)
    approve(services, version.plan_id, BOB, now=_database_now(services) - TTL - timedelta(
        minutes=1))
    with machine_clock(-SKEW), pytest.raises(NotApprovedError, match="expired"):
        start_run(services, version.plan_id, ALICE)


@pytest.mark.parametrize("session_zone", [None, "America/New_York"])
def test_the_database_clock_reads_as_utc_through_an_engine_or_a_session(url, session_zone):
    from sqlmodel import Session

    from executor.store.clock import database_now
    from executor.store.db import make_engine

    if session_zone is not None:
        if not url.startswith("postgresql"):
            pytest.skip("a session's time zone is PostgreSQL's")
        url += f"%20-ctimezone%3D{session_zone}"
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            read = [database_now(engine), database_now(session)]
    finally:
        engine.dispose()
    for at in read:
        assert at.tzinfo is UTC and _close(at, datetime.now(UTC))


def test_the_newest_decision_is_the_last_one_taken_whatever_clock_stamped_it(services):
    """A decision taken again on a machine whose clock runs behind is stamped before the one
    it replaces; the gate, the listings and the lapse query must still read it, not the old."""
    version = _decided(services)
    first = services.approval_store.latest_decision(version.plan_id, 1)
    assert first is not None
    behind = first.decided_at - SKEW
    denied = first.decision.model_copy(update={"allow": False, "deny": ("taken again: denied",)})
    with Session(services.engine) as session:
        add_decision(session, version.plan_id, 1, version.plan_hash, denied, behind)
        session.commit()
    newest = services.approval_store.latest_decision(version.plan_id, 1)
    assert newest is not None and newest.decision.deny == ("taken again: denied",)
    listed = services.approval_store.latest_decisions([(version.plan_id, 1)])
    assert listed[(version.plan_id, 1)].decision.deny == ("taken again: denied",)
