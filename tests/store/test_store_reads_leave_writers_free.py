"""The stores' read-only methods take no write lock on SQLite: they neither wait for a writer
nor keep one waiting.

SQLite only: PostgreSQL readers never block writers. Every other connection here waits for no
lock at all (busy timeout 0), so a read or write that succeeds proves the lock was free; a
method that still began with ``BEGIN IMMEDIATE`` fails at once with "database is locked".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from executor.ledger import Ledger
from executor.store.approvals import ApprovalStore
from executor.store import db
from executor.store.db import make_engine
from executor.store.migrate import upgrade
from executor.store.plans import NewVersion, PlanStore
from executor.store.runs import RunStore
from planner.base import PlannerKind
from planner.plan import Plan
from planner.versions import VersionStatus
from policies.approval import ApprovalKind, ApprovalRecord
from policies.contracts import Decision

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _plan() -> Plan:
    return Plan.model_validate({"goal": "copy it", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]})


@pytest.fixture
def path(tmp_path) -> str:
    return str(tmp_path / "baton.db")


@pytest.fixture
def engine(path) -> Iterator[Engine]:
    """Baton's engine on a database at head with a plan of two versions, a decision, an
    approval, and a run with one step."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    plans = PlanStore(engine)
    new = NewVersion(plan=_plan(), status=VersionStatus.VALIDATED, planner=PlannerKind.TEMPLATE,
                     created_by="alice")
    first = plans.create_plan("copy it", "alice", new)
    plans.add_version(first.plan_id, new.model_copy(update={"created_by": "bob"}))
    plans.set_status(first.plan_id, 2, VersionStatus.PENDING_APPROVAL)
    with plans.locked(first.plan_id) as gate:
        gate.record_decision(2, "h" * 64, Decision(allow=True, engine="test",
                                                    bundle_hash="b" * 64), NOW)
        gate.add_record(ApprovalRecord(plan_id=first.plan_id, version=2, plan_hash="h" * 64,
                                       actor="carol", kind=ApprovalKind.APPROVE, decided_at=NOW))
    RunStore(engine, Ledger(engine)).create(
        run_id="r1", plan_id=first.plan_id, version=1, plan_hash=first.plan_hash,
        steps=[("load", "files.read")], requested_by="alice", concurrency=1)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch (n INTEGER)"))
    yield engine
    engine.dispose()


@pytest.fixture
def plan_id(engine) -> str:
    return PlanStore(engine).list_plans()[0].plan_id


def _impatient(engine: Engine) -> Engine:
    """``engine``, with a busy timeout of 0 on every connection it opens from now on."""
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _no_wait(dbapi_connection, _record) -> None:  # after Baton's own (30 s)
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    return engine


def _writer(path: str) -> sqlite3.Connection:
    """A connection of its own that waits for no lock, in autocommit (explicit BEGINs)."""
    return sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)


def _write(path: str, n: int) -> None:
    """One committed write, as Baton's writers make it: the write lock from the start."""
    conn = _writer(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO scratch (n) VALUES (?)", (n,))
        conn.execute("COMMIT")
    finally:
        conn.close()


def _reads(engine: Engine, plan_id: str) -> dict[str, Callable[[], Any]]:
    """Every read-only store method, called on ``engine``, and what it returns is checked."""
    plans, approvals = PlanStore(engine), ApprovalStore(engine)
    runs = RunStore(engine, Ledger(engine))
    roles: dict[str, list[str]] = {}
    return {
        "plans.get": lambda: plans.get(plan_id).version == 2,
        "plans.get(1)": lambda: plans.get(plan_id, 1).version == 1,
        "plans.versions": lambda: [v.version for v in plans.versions(plan_id)] == [1, 2],
        "plans.authors": lambda: plans.authors(plan_id) == {"alice", "bob"},
        "plans.authors_of": lambda: plans.authors_of([plan_id])[plan_id] == {"alice", "bob"},
        "plans.list_plans": lambda: [v.plan_id for v in plans.list_plans()] == [plan_id],
        "plans.list_plans(status)": lambda: len(
            plans.list_plans(VersionStatus.PENDING_APPROVAL)) == 1,
        "plans.list_waiting": lambda: [v.plan_id for v in plans.list_waiting(
            now=NOW, ttl=timedelta(days=1), role_holders=roles, limit=10)] == [plan_id],
        "runs.snapshot": lambda: len(runs.snapshot("r1").steps) == 1,
        "runs.run_row": lambda: runs.run_row("r1")["plan_id"] == plan_id,
        "runs.get": lambda: [s.step_id for s in runs.get("r1").steps] == ["load"],
        "runs.get(summary)": lambda: runs.get("r1", detail=False).id == "r1",
        "runs.list": lambda: [r.id for r in runs.list()] == ["r1"],
        "runs.list(plan)": lambda: [r.id for r in runs.list(plan_id=plan_id)] == ["r1"],
        "approvals.latest_decision": lambda: approvals.latest_decision(plan_id, 2) is not None,
        "approvals.latest_decisions": lambda: list(
            approvals.latest_decisions([(plan_id, 2)])) == [(plan_id, 2)],
        "approvals.records": lambda: [r.actor for r in approvals.records(plan_id, 2)] == ["carol"],
        "approvals.records_of": lambda: [r.actor for r in approvals.records_of(
            [(plan_id, 2)])[(plan_id, 2)]] == ["carol"],
    }


READS = [  # the names of what _reads returns, for the parameters
    "plans.get", "plans.get(1)", "plans.versions", "plans.authors", "plans.authors_of",
    "plans.list_plans", "plans.list_plans(status)", "plans.list_waiting", "runs.snapshot",
    "runs.run_row", "runs.get", "runs.get(summary)", "runs.list", "runs.list(plan)",
    "approvals.latest_decision", "approvals.latest_decisions", "approvals.records",
    "approvals.records_of"]


def test_every_read_method_is_listed(engine, plan_id):
    assert list(_reads(engine, plan_id)) == READS


@pytest.mark.parametrize("name", READS)
def test_a_read_returns_while_another_connection_holds_the_write_lock(engine, plan_id, path,
                                                                      name):
    read = _reads(_impatient(engine), plan_id)[name]
    holder = _writer(path)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO scratch (n) VALUES (0)")  # written, not yet committed
        assert read() is True
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("name", READS)
def test_another_connection_writes_while_a_read_is_in_its_transaction(engine, plan_id, path,
                                                                      name):
    read = _reads(engine, plan_id)[name]
    written: list[int] = []

    def write_after_select(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            _write(path, len(written) + 1)  # raises "database is locked" if the read holds it
            written.append(len(written) + 1)

    event.listen(engine, "after_cursor_execute", write_after_select)
    try:
        assert read() is True
    finally:
        event.remove(engine, "after_cursor_execute", write_after_select)
    assert written  # a write went through inside every read's transaction
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == len(written)


def test_a_writer_commits_while_a_read_session_is_open_and_the_session_keeps_its_snapshot(
        engine, path):
    with db.read_session(engine) as session:
        assert session.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
        _write(path, 1)
        _write(path, 2)
        assert session.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
    with db.read_session(engine) as session:
        assert session.execute(text("SELECT count(*) FROM scratch")).scalar() == 2


def test_a_read_session_begins_no_write_transaction(engine):
    begun: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        begun.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with db.read_session(engine) as session:
            session.execute(text("SELECT 1")).all()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert begun[0] == "BEGIN"
