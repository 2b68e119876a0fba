"""A claim racing the commit of the run's stalled owner: the finished step is never run again,
and neither side dies of a deadlock (SQLite and PostgreSQL).

The owner's write-back is paused after its statements ran and before it commits (the point
where a stalled owner can be descheduled), its lease run out; a claimer on its own engine
claims the run meanwhile. The owner goes on once the claim has read the
steps it would send back, waits for a lock, or is over; what happens next is up to the store.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from executor.ledger import EventKind, Ledger
from executor.records import AttemptStatus, RunStatus
from executor.runner import RunOwnedError
from executor.scheduling import StepStatus
from executor.store import attempt_log, hot
from executor.store.db import make_engine
from executor.store.schema import RunRow
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tools import ToolRegistry

PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": "pay", "tool": "charge",
                                                     "args": {"amount": 5}}]})


class _Race:
    """An owner whose one step's write-back stalls before its commit, and a claimer."""

    def __init__(self, engine, db_url, tmp_path, monkeypatch, *, pause: str = "after") -> None:
        self.calls: list[str] = []
        self.started, self.release = threading.Event(), threading.Event()
        self.paused, self.go_on = threading.Event(), threading.Event()
        registry = ToolRegistry()

        @registry.tool("charge")
        def charge(amount: int) -> int:
            """A side effect that must happen once.

            Args:
                amount: How much.
            """
            self.calls.append("charge")
            self.started.set()
            self.release.wait(30)
            return amount

        self.dialect = engine.dialect.name
        self.owner = make_runner(engine, registry, tmp_path)
        self.run_id = self.owner.create_run(approved_plan(engine, PLAN), 1, PLAN,
                                            requested_by="alice")
        url = db_url + ("&" if "?" in db_url else "?") + "application_name=claimer" \
            if self.dialect == "postgresql" else db_url
        self.claim_engine = make_engine(url)
        self.claimer = make_runner(self.claim_engine, registry, tmp_path,
                                   ledger=Ledger(self.claim_engine))
        # The owner is stalled: it renews no lease (see expire_lease).
        monkeypatch.setattr(self.owner.store, "renew", lambda *_args, **_kw: False)
        if self.dialect == "sqlite":
            # SQLite: a claim that has begun can only wait for the owner's commit (one writer).
            for name in ("claim_next", "run_row", "take_over"):
                monkeypatch.setattr(self.claimer.store, name, self._signalled(
                    getattr(self.claimer.store, name)))
        real_statements = hot.HotWriter._run_statements
        real_interrupt = attempt_log.interrupt

        def statements(writer, cursor):
            # "before": the owner holds the ledger's lock and has not touched the step's row;
            # "after": the step row says succeeded, not committed yet.
            if pause != "before":
                real_statements(writer, cursor)
            if pause != "never" and writer._fence and self.release.is_set() and not self.paused.is_set():
                self.paused.set()
                assert self.go_on.wait(20), "the claim never got anywhere"
            if pause == "before":
                real_statements(writer, cursor)

        def interrupt(log, at):
            if pause == "after":
                self.go_on.set()  # the claim has read the step as running
            return real_interrupt(log, at)

        monkeypatch.setattr(hot.HotWriter, "_run_statements", statements)
        monkeypatch.setattr(attempt_log, "interrupt", interrupt)
        self.owner_error: list[BaseException] = []
        self.thread = threading.Thread(target=self._own, daemon=True)

    def _signalled(self, claim):
        def signalled(*args, **kwargs):
            self.go_on.set()
            return claim(*args, **kwargs)
        return signalled

    def _own(self) -> None:
        try:
            self.owner.run_sync(self.run_id)
        except Exception as exc:  # a lost lease is a fine ending for the stalled owner
            self.owner_error.append(exc)

    def expire_lease(self) -> None:
        """The owner, stalled in its tool call, let its lease run out."""
        with self.owner.store.engine.begin() as c:
            c.execute(update(RunRow).where(RunRow.id == self.run_id).values(
                lease_expires_at=datetime.now(UTC) - timedelta(minutes=1)))

    def stall_owner(self) -> None:
        """Start the owner and hold it inside the commit of its step's result."""
        self.thread.start()
        assert self.started.wait(20)
        self.expire_lease()
        self.release.set()
        assert self.paused.wait(20)
        if self.dialect == "postgresql":
            threading.Thread(target=self._watch_locks, daemon=True).start()

    def _watch_locks(self) -> None:
        # PostgreSQL: a claim waiting for a lock the owner holds waits for its commit.
        with self.owner.store.engine.connect() as c:
            while not self.go_on.is_set():
                waiting = c.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'claimer' "
                    "AND wait_event_type = 'Lock'")).scalar()
                c.rollback()  # the activity view is read once per transaction
                if waiting:
                    self.go_on.set()
                time.sleep(0.02)

    def finish(self) -> None:
        """Let the owner go on, wait for it, and check the step ran once, as its records say."""
        self.go_on.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        self.claim_engine.dispose()
        assert self.calls == ["charge"]
        record = self.owner.store.get(self.run_id)
        step = record.steps[0]
        assert step.status is StepStatus.SUCCEEDED
        assert [a.status for a in step.attempt_log] == [AttemptStatus.SUCCEEDED]
        events = self.owner.store.ledger.events(subject=self.run_id)
        assert [e.kind for e in events].count(EventKind.ATTEMPT_START.value) == 1
        for e in events:
            if e.kind == EventKind.RUN_RESUME.value:
                assert e.payload["interrupted"] == []


def test_a_worker_claiming_during_the_owners_commit_never_sends_its_result_back(
        engine, db_url, tmp_path, monkeypatch):
    race = _Race(engine, db_url, tmp_path, monkeypatch)
    race.stall_owner()
    try:
        race.claimer.worker(once=True, idle_s=0)
    finally:
        race.finish()
    assert race.owner.store.get(race.run_id).status is RunStatus.SUCCEEDED


def test_a_resume_during_the_owners_commit_never_sends_its_result_back(
        engine, db_url, tmp_path, monkeypatch):
    race = _Race(engine, db_url, tmp_path, monkeypatch)
    race.stall_owner()
    try:
        # The owner may have ended the run before the resume read it: nothing left to resume.
        try:
            race.claimer.resume_sync(race.run_id)
        except RunOwnedError:
            pass
        except Exception as exc:
            if "already succeeded" not in str(exc):
                raise
    finally:
        race.finish()
    assert race.owner.store.get(race.run_id).status is RunStatus.SUCCEEDED


@pytest.mark.parametrize("claim", ["worker", "resume"])
def test_a_claim_and_the_owners_commit_take_their_locks_in_one_order(
        engine, db_url, tmp_path, monkeypatch, claim):
    """No deadlock: the owner's commit and a claim both lock the run's row, then the ledger.

    The owner's commit starts once the claim holds the run's row and is about to take the
    ledger's lock; the claim takes it once the owner waits for a lock of its own.
    """
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one lock: the whole file")
    race = _Race(engine, db_url, tmp_path, monkeypatch, pause="never")
    owner_pid: list[int] = []
    claim_at_ledger = threading.Event()
    owner_waited: list[bool] = []
    real_commit = hot.HotWriter._commit_pending

    def commit(writer):
        if writer._fence and race.release.is_set() and not race.paused.is_set():
            cursor = writer._conn.cursor()
            cursor.execute("SELECT pg_backend_pid()")  # in the commit's transaction: no lock
            owner_pid.append(cursor.fetchone()[0])
            race.paused.set()
            assert claim_at_ledger.wait(20)
        real_commit(writer)

    monkeypatch.setattr(hot.HotWriter, "_commit_pending", commit)
    real_lock = race.claimer.store.ledger._lock

    def lock(session):
        if claim_at_ledger.is_set():  # the claim's own append is the one to hold back
            return real_lock(session)
        claim_at_ledger.set()
        with engine.connect() as c:
            for _ in range(500):
                waiting = c.execute(text("SELECT wait_event_type FROM pg_stat_activity "
                                         "WHERE pid = :pid"), {"pid": owner_pid[0]}).scalar()
                c.rollback()  # the activity view is read once per transaction
                if waiting == "Lock":
                    owner_waited.append(True)
                    break
                time.sleep(0.02)
        return real_lock(session)

    monkeypatch.setattr(race.claimer.store.ledger, "_lock", lock)
    race.thread.start()
    assert race.started.wait(20)
    race.expire_lease()
    race.release.set()
    assert race.paused.wait(20)
    errors: list[BaseException] = []
    try:
        if claim == "worker":
            race.claimer.worker(once=True, idle_s=0)
        else:
            race.claimer.resume_sync(race.run_id)
    except Exception as exc:
        errors.append(exc)
    race.go_on.set()
    race.thread.join(30)
    race.claim_engine.dispose()
    assert not errors, errors
    assert owner_waited, "the owner never waited for the claim's lock"
    # The claim won: the owner's result was never committed, and the step ran again.
    assert race.owner_error and "taken over" in str(race.owner_error[0])
    assert race.owner.store.get(race.run_id).status is RunStatus.SUCCEEDED


def test_a_deadlock_or_a_serialization_failure_is_transient_and_a_constraint_is_not():
    import sqlite3

    import psycopg.errors

    from executor.store.db import StoreError, is_transient

    def wrapped(cause: BaseException) -> StoreError:
        try:
            raise StoreError("the database failed while looking for a run to claim") from cause
        except StoreError as exc:
            return exc

    assert is_transient(wrapped(psycopg.errors.DeadlockDetected("deadlock detected")))
    assert is_transient(wrapped(psycopg.errors.SerializationFailure("could not serialize")))
    assert is_transient(wrapped(sqlite3.OperationalError("database is locked")))
    assert not is_transient(wrapped(psycopg.errors.UniqueViolation("duplicate key")))
    assert not is_transient(wrapped(sqlite3.OperationalError("disk I/O error")))
    assert not is_transient(ValueError("deadlock detected"))
