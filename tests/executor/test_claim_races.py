"""A claim racing the commit of the run's stalled owner: the finished step is never run again
(SQLite and PostgreSQL).

The owner's write-back is paused after its statements ran and before it commits (the point
where a stalled owner can be descheduled); a claimer on its own engine, whose clock says the
owner's lease ran out, claims the run meanwhile. The owner goes on once the claim has read the
steps it would send back, waits for a lock, or is over; what happens next is up to the store.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from executor.ledger import EventKind, Ledger
from executor.records import AttemptStatus, RunStatus
from executor.runner import RunOwnedError
from executor.scheduling import StepStatus
from executor.store import attempt_log, hot
from executor.store.db import make_engine
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tools import ToolRegistry

PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": "pay", "tool": "charge",
                                                     "args": {"amount": 5}}]})


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)  # the claimer sees every lease run out


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
                                   ledger=Ledger(self.claim_engine), clock=_later)
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
            if pause == "after":
                real_statements(writer, cursor)
            if writer._fence and self.release.is_set() and not self.paused.is_set():
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

    def stall_owner(self) -> None:
        """Start the owner and hold it inside the commit of its step's result."""
        self.thread.start()
        assert self.started.wait(20)
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
