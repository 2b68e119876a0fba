"""What waits for approval leaves out an approved version that ran to success: the query asks,
of each approved version whose approval lapsed, whether it has a run that succeeded. Without
an index led by (plan_id, version, status), SQLite answered it from ix_runs_status_created_at,
reading every succeeded run of every plan for each such version (13 s with 5,000 plans and
90,000 runs; 50 ms with the index). Revision 0009 adds it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import event, inspect, text

from executor.ledger import Ledger
from executor.records import RunStatus
from executor.store.db import make_engine
from executor.store.migrate import alembic_config, upgrade
from executor.store.plans import PlanStore
from executor.store.runs import RunStore
from tests.executor.conftest import db_url, empty_engine, engine  # noqa: F401 - fixtures: both stores

INDEX = "ix_runs_plan_id_version_status"


def _runs_indexes(engine) -> dict[str, list[str]]:  # noqa: F811
    return {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("runs")}


def _at_0008_with_runs(engine) -> None:  # noqa: F811
    """A database at revision 0008 holding two runs of plan p1."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0008")
        conn.execute(text(
            "INSERT INTO runs (id, plan_id, version, plan_hash, status, requested_by, concurrency,"
            " cancel_requested, created_at) VALUES (:id, 'p1', 1, :h, :s, 'alice', 4, false, :at)"),
            [{"id": f"r{n}", "h": "0" * 64, "s": status, "at": datetime(2026, 12, n, tzinfo=UTC)}
             for n, status in ((1, "failed"), (2, "succeeded"))])


def test_revision_0009_indexes_runs_by_plan_version_and_status_and_keeps_them(
        empty_engine):  # noqa: F811
    _at_0008_with_runs(empty_engine)
    assert INDEX not in _runs_indexes(empty_engine)
    upgrade(empty_engine)

    indexes = _runs_indexes(empty_engine)
    assert indexes[INDEX] == ["plan_id", "version", "status"]
    assert indexes["ix_runs_plan_id_created_at"] == ["plan_id", "created_at"]  # kept: lists
    runs = RunStore(empty_engine, Ledger(empty_engine))
    assert [r.id for r in runs.list(plan_id="p1")] == ["r2", "r1"]
    assert [r.id for r in runs.list(status=RunStatus.SUCCEEDED)] == ["r2"]


def test_revision_0009_downgrades_without_the_index_and_keeps_the_runs(
        empty_engine):  # noqa: F811
    _at_0008_with_runs(empty_engine)
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0008")
    assert INDEX not in _runs_indexes(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM runs ORDER BY id")).all() == [("r1",), ("r2",)]


def _statement_of_list_waiting(store: PlanStore, engine) -> tuple[str, object]:  # noqa: F811
    """The SQL and parameters ``list_waiting`` sends, exactly as sent."""
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        store.list_waiting(now=datetime.now(UTC), ttl=timedelta(hours=1),
                           role_holders={"approver": {"bob"}}, limit=50)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    (waiting,) = [s for s in sent if "FROM plans" in s[0]]  # one query
    return waiting


def test_sqlite_reads_whether_a_version_ran_to_success_by_the_index(tmp_path):
    # SQLite, which has no statistics unless ANALYZE is run, picked ix_runs_status_created_at.
    # PostgreSQL plans by cost: it reads the succeeded runs once into a hash per query (one
    # pass, not one per version), so its plan is not pinned here.
    sqlite = make_engine(f"sqlite:///{tmp_path / 'baton.db'}")
    try:
        upgrade(sqlite)
        statement, parameters = _statement_of_list_waiting(PlanStore(sqlite), sqlite)
        with sqlite.connect() as conn:
            plan = "\n".join(r[-1] for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters))
    finally:
        sqlite.dispose()
    runs_lines = [line for line in plan.splitlines() if " runs " in line]
    assert runs_lines and all(
        f"{INDEX} (plan_id=? AND version=? AND status=?)" in line for line in runs_lines), plan
