"""RunStore.list, on SQLite and PostgreSQL: a plan's runs are read by its id, so other plans'
newer runs never push them out of the limit; every listing reads an index in order."""

from __future__ import annotations

import pytest

from executor.ledger import Ledger
from executor.records import RunStatus
from executor.store.runs import RunStore
from tests.executor.conftest import db_url, empty_engine, engine  # noqa: F401 - fixtures: both stores


def _create(runs: RunStore, run_id: str, plan_id: str) -> None:
    runs.create(run_id=run_id, plan_id=plan_id, version=1, plan_hash="0" * 64, steps=(),
                requested_by="alice", concurrency=1)


def test_list_by_plan_reads_only_that_plans_runs_newest_first(engine):  # noqa: F811
    runs = RunStore(engine, Ledger(engine))
    _create(runs, "a1", "plan-a")
    _create(runs, "a2", "plan-a")
    for n in range(3):
        _create(runs, f"b{n}", "plan-b")
    assert [r.id for r in runs.list(limit=2, plan_id="plan-a")] == ["a2", "a1"]
    assert [r.id for r in runs.list(limit=1, plan_id="plan-a")] == ["a2"]
    assert runs.list(plan_id="plan-c") == []
    assert len(runs.list(limit=2)) == 2  # unfiltered, as before


def _statement_of_list(runs: RunStore, **filters) -> tuple[str, object]:
    """The SQL and parameters RunStore.list(**filters) sends, exactly as sent."""
    from sqlalchemy import event

    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append((statement, parameters))

    event.listen(runs.engine, "before_cursor_execute", record)
    try:
        runs.list(limit=50, **filters)
    finally:
        event.remove(runs.engine, "before_cursor_execute", record)
    (select_runs,) = [s for s in sent if "FROM runs" in s[0]]
    return select_runs


@pytest.mark.parametrize(("filters", "index"), [
    ({"plan_id": "plan-a"}, "ix_runs_plan_id_created_at"),
    ({"status": RunStatus.QUEUED}, "ix_runs_status_created_at"),
    ({}, "ix_runs_created_at"),
], ids=["by-plan", "by-status", "all"])
def test_a_listing_reads_an_index_in_order_and_sorts_nothing(engine, filters, index):  # noqa: F811
    # Without an index led by the filter and ending in created_at, every matching run is
    # read, then sorted, before the limit.
    statement, parameters = _statement_of_list(RunStore(engine, Ledger(engine)), **filters)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        else:  # an empty table is scanned whole unless scans are ruled out
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
    text = "\n".join(plan)
    assert index in text, text
    assert "TEMP B-TREE" not in text and "Sort" not in text, text


def test_list_by_status_gives_only_that_status_newest_first(engine):  # noqa: F811
    runs = RunStore(engine, Ledger(engine))
    for n in range(3):
        _create(runs, f"q{n}", "plan-a")
    assert [r.id for r in runs.list(limit=2, status=RunStatus.QUEUED)] == ["q2", "q1"]
    assert runs.list(status=RunStatus.SUCCEEDED) == []
