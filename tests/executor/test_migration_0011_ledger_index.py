"""Revision 0011: the ledger is indexed by (subject, seq) in place of subject alone.

A subject's events are read READ_BATCH_ROWS at a time, each batch after the last seq read
(``baton audit show --subject``, the export). With subject alone, PostgreSQL read every
remaining event of the subject again for each batch and sorted them (quadratic in a
subject's events); with (subject, seq) each batch starts where the last one ended.
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import event, inspect, text

from executor import ledger as ledger_module
from executor.ledger import Ledger
from executor.store.migrate import alembic_config, current_revision, head_revision, upgrade

OLD = "ix_ledger_subject"
NEW = "ix_ledger_subject_seq"


def _ledger_indexes(engine) -> dict[str, list[str]]:
    return {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("ledger")}


def _at_0010_with_events(engine) -> list[tuple[int, str, str]]:
    """A database at revision 0010 (ledger indexed by subject alone) holding a chain of
    events of three subjects; their (seq, subject, hash)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0010")
    ledger = Ledger(engine)
    for i in range(12):
        ledger.append("goal", f"p{i % 3}", "alice", {"goal": f"g{i}", "n": i})
    return [(e.seq, e.subject, e.hash) for e in ledger.events()]


def _events(engine) -> list[tuple[int, str, str]]:
    return [(e.seq, e.subject, e.hash) for e in Ledger(engine).events()]


def test_revision_0011_indexes_the_ledger_by_subject_and_seq_and_keeps_every_event(
        empty_engine):
    before = _at_0010_with_events(empty_engine)
    assert _ledger_indexes(empty_engine)[OLD] == ["subject"]
    upgrade(empty_engine)

    assert current_revision(empty_engine) == head_revision()
    indexes = _ledger_indexes(empty_engine)
    assert indexes[NEW] == ["subject", "seq"]
    assert OLD not in indexes  # the composite one serves subject alone
    assert _events(empty_engine) == before
    ledger = Ledger(empty_engine)
    assert ledger.verify().ok and ledger.verify().events == 12
    assert [e.seq for e in ledger.events(subject="p1")] == [2, 5, 8, 11]
    assert [e.seq for e in ledger.latest(subject="p1", limit=2)] == [8, 11]
    ledger.append("goal", "p1", "alice", {"goal": "after"})
    assert ledger.verify().ok and [e.seq for e in ledger.events(subject="p1", after_seq=8)] == [
        11, 13]


def test_revision_0011_downgrades_to_the_subject_index_and_keeps_every_event(
        empty_engine):
    before = _at_0010_with_events(empty_engine)
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")

    assert current_revision(empty_engine) == "0010"
    indexes = _ledger_indexes(empty_engine)
    assert indexes[OLD] == ["subject"]
    assert NEW not in indexes
    assert _events(empty_engine) == before
    assert Ledger(empty_engine).verify().ok
    upgrade(empty_engine)  # and up again
    assert _ledger_indexes(empty_engine)[NEW] == ["subject", "seq"]


def _batch_plans(engine, subject: str) -> list[str]:
    """PostgreSQL's plan for each batch the ledger reads the events of ``subject`` by, for
    the statements exactly as sent."""
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        read = sum(1 for _ in Ledger(engine).iter_events(subject=subject))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    batches = [s for s in sent if "ledger.subject =" in s[0]]
    assert read == 350 and len(batches) == 4  # three full batches, then the last 50
    plans = []
    with engine.connect() as conn:
        for statement, parameters in batches:
            plans.append("\n".join(r[0] for r in conn.exec_driver_sql(
                "EXPLAIN " + statement, parameters)))
    return plans


def test_postgresql_reads_each_batch_of_a_subject_from_where_the_last_ended(
        empty_engine, monkeypatch):
    if empty_engine.dialect.name != "postgresql":
        # SQLite's index on subject holds the rowid (seq) too: it read from the last seq already.
        pytest.skip("PostgreSQL's plans")
    monkeypatch.setattr(ledger_module, "READ_BATCH_ROWS", 100)
    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0010")
        # 175,000 events; the subject read is one in 500 of them, as one run among many is.
        conn.execute(text(
            "INSERT INTO ledger (seq, at, kind, subject, actor, payload, prev_hash, hash)"
            " SELECT g, now(), 'goal', CASE WHEN g % 500 = 0 THEN 'r1' ELSE 'p' || (g % 997) END,"
            " 'alice', '{}', repeat('0', 64), repeat('0', 64) FROM generate_series(1, 175000) g"))
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("ANALYZE ledger"))

    plans = _batch_plans(empty_engine, "r1")
    for plan in plans:  # each batch starts at the last seq read: none reads the earlier ones
        lines = plan.splitlines()
        scan = next(i for i, line in enumerate(lines) if "Index Scan" in line)
        assert f"Index Scan using {NEW} on ledger" in lines[scan] \
            or f"Bitmap Index Scan on {NEW}" in lines[scan], plan
        condition = lines[scan + 1]
        assert "Index Cond" in condition and "subject" in condition and "seq >" in condition, plan
    for plan in plans[:-1]:  # read in index order, up to the batch's limit: no sort
        assert f"Index Scan using {NEW}" in plan and "Sort" not in plan, plan
