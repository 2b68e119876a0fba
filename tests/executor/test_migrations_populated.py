"""A database holding records, at every older revision, upgrades to head keeping every one.

Each revision's database is filled as that revision shaped it: a plan with two versions, a
decision, an approval, runs with steps (and, before 0004, their rows in ``attempts``), an
artifact (from 0008), a chain of ledger events. On SQLite a revision that rebuilds a table
referred to by another (0002 rebuilds ``runs``, which ``run_steps`` refers to) failed with
"FOREIGN KEY constraint failed" while a run had steps, and every command after it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from executor.ledger import Ledger
from executor.records import AttemptStatus
from executor.store import attempt_log
from executor.store.db import StoreError, make_engine
from executor.store.migrate import (alembic_config, current_revision, head_revision,
                                    known_revisions, upgrade)
from executor.store.reading import open_for_reading
from executor.store.runs import RunStore

AT = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
HASH = "0" * 64
ORIGIN = "database_url in /srv/baton.toml"
OLDER = sorted(known_revisions() - {head_revision()})
# Tables in the order their rows can be inserted (a row's parent first).
TABLES = ["plans", "plan_versions", "decisions", "approvals", "runs", "run_steps", "attempts",
          "artifacts"]
# Step r1/a tried twice, r1/b in flight, r1/c never tried; r2/a never tried (r2 cancelled).
ATTEMPTS = [("r1", "a", 1, "failed", "HTTP 503", True, AT), ("r1", "a", 2, "succeeded", None,
                                                             None, AT),
            ("r1", "b", 1, "started", None, None, None)]


def _rows() -> dict[str, list[dict[str, object]]]:
    """Every table's rows, with every column some revision has (each keeps its own)."""
    decision = {"allow": True, "approvals": {"count": 1, "roles": ["approver"]},
                "bundle_hash": "1" * 64, "deny": [], "engine": "embedded", "notes": [], "risk": 5}
    run = {"plan_id": "p1", "version": 1, "plan_hash": HASH, "requested_by": "alice",
           "concurrency": 4, "created_at": AT}
    step = {"tool": "files.read", "output_json": None, "output_uri": None, "output_sha256": None,
            "error": None, "next_attempt_at": None, "started_at": None, "ended_at": None}
    return {
        "plans": [{"id": "p1", "goal": "count", "requester": "alice", "created_at": AT,
                   "latest_version": 2}],
        "plan_versions": [
            {"plan_id": "p1", "version": v, "plan_json": json.dumps({"steps": [], "v": v}),
             "plan_hash": HASH, "status": status, "planner": "template", "origin_json": None,
             "problems_json": None, "feedback": None, "created_by": "alice", "created_at": AT}
            for v, status in ((1, "approved"), (2, "draft"))],
        "decisions": [{"plan_id": "p1", "version": 1, "plan_hash": HASH,
                       "decision_json": json.dumps(decision), "engine": "embedded",
                       "bundle_hash": "1" * 64, "decided_at": AT, "input_hash": "2" * 64}],
        "approvals": [{"plan_id": "p1", "version": 1, "plan_hash": HASH, "actor": "bob",
                       "kind": "approve", "comment": "ok", "decided_at": AT, "expires_at": None}],
        "runs": [{**run, "id": "r1", "status": "running", "owner": "w1", "lease_expires_at": AT,
                  "started_at": AT, "cancel_requested": False},
                 {**run, "id": "r2", "status": "cancelled", "error": "cancelled by bob",
                  "ended_at": AT, "cancel_requested": True}],
        "run_steps": [
            {**step, "run_id": run_id, "step_id": sid, "position": pos, "status": status,
             "attempts": tries, "idempotency_key": f"{run_id}-{sid}",
             "output_json": '{"text": "x"}' if status == "succeeded" else None,
             "attempt_log": _log(run_id, sid)}
            for run_id, sid, pos, status, tries in [
                ("r1", "a", 0, "succeeded", 2), ("r1", "b", 1, "running", 1),
                ("r1", "c", 2, "pending", 0), ("r2", "a", 0, "pending", 0)]],
        "attempts": [{"run_id": r, "step_id": s, "attempt": n, "status": status, "error": error,
                      "retryable": retryable, "started_at": AT, "ended_at": ended}
                     for r, s, n, status, error, retryable, ended in ATTEMPTS],
        "artifacts": [{"sha256": "3" * 64, "data": b'{"rows": [1, 2, 3]}', "size": 19,
                       "created_at": AT}],
    }


def _log(run_id: str, step_id: str) -> str | None:
    """A step's attempt_log as 0004 writes it from its attempts rows."""
    entries: list[attempt_log.Entry] = []
    for r, s, n, status, error, retryable, ended in ATTEMPTS:
        if (r, s) != (run_id, step_id):
            continue
        entry: attempt_log.Entry = {"attempt": n, "status": status,
                                    "started_at": AT.isoformat()}
        if ended is not None:
            entry["ended_at"] = ended.isoformat()
        if error is not None:
            entry["error"] = error
        if retryable is not None:
            entry["retryable"] = retryable
        entries.append(entry)
    return attempt_log.dumps(entries) if entries else None


def _table(name: str, columns: set[str]) -> sa.TableClause:
    """``name`` with the columns the database has, typed as the models type them (the
    attempts table, gone from the models, as 0001 made it): no model default is added."""
    model = SQLModel.metadata.tables.get(name)
    typed = {c: (model.c[c].type if model is not None else _ATTEMPTS_TYPES[c]) for c in columns}
    return sa.table(name, *(sa.column(c, t) for c, t in typed.items()))


_ATTEMPTS_TYPES = {"id": sa.Integer(), "run_id": sa.String(), "step_id": sa.String(),
                   "attempt": sa.Integer(), "status": sa.String(), "error": sa.Text(),
                   "retryable": sa.Boolean(), "started_at": sa.DateTime(timezone=True),
                   "ended_at": sa.DateTime(timezone=True)}


def _populated_at(engine, revision: str) -> None:
    """Bring an empty database to ``revision`` ("legacy": 0001's tables without an
    alembic_version, as the first releases' create_all left them) and fill it."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001" if revision == "legacy" else revision)
    with engine.begin() as conn:
        inspector = inspect(conn)
        present = set(inspector.get_table_names())
        for name in TABLES:
            if name not in present:
                continue
            columns = {c["name"] for c in inspector.get_columns(name)}
            rows = _rows()[name]
            keys = set().union(*rows) & columns  # a column left out of a row: NULL
            conn.execute(sa.insert(_table(name, keys)), [{k: r.get(k) for k in keys} for r in rows])
        if revision == "legacy":
            conn.execute(text("DROP TABLE alembic_version"))
    ledger = Ledger(engine)
    for i in range(6):
        ledger.append("goal", f"p{i % 2}", "alice", {"goal": f"g{i}", "n": i})


def _snapshot(engine) -> dict[str, list[dict[str, object]]]:
    """Every row of every table but alembic_version, as stored, in primary key order."""
    snapshot = {}
    with engine.connect() as conn:
        inspector = inspect(conn)
        for name in set(inspector.get_table_names()) - {"alembic_version"}:
            key = ", ".join(inspector.get_pk_constraint(name)["constrained_columns"])
            snapshot[name] = [dict(r) for r in conn.execute(
                text(f"SELECT * FROM {name} ORDER BY {key}")).mappings()]
    return snapshot


@pytest.mark.parametrize("revision", [*OLDER, "legacy"])
def test_a_populated_database_at_every_older_revision_upgrades_keeping_every_record(
        db_url, empty_engine, revision):
    _populated_at(empty_engine, revision)
    before = _snapshot(empty_engine)
    empty_engine.dispose()

    reading = open_for_reading(db_url, ORIGIN)  # what `baton audit verify` opens it with
    try:
        assert current_revision(reading) == head_revision()
        after = _snapshot(reading)
        for name, rows in before.items():
            if name == "attempts":  # 0004 moved them into their steps' attempt_log
                assert "attempts" not in after
                continue
            assert [{c: row[c] for c in rows[0]} for row in after[name]] == rows, name
        verified = Ledger(reading).verify()
        assert verified.ok and verified.events == 6
        r1 = RunStore(reading, Ledger(reading)).get("r1")
        logs = {s.step_id: s.attempt_log for s in r1.steps}
        assert [(a.attempt, a.status, a.error, a.retryable) for a in logs["a"]] == [
            (1, AttemptStatus.FAILED, "HTTP 503", True), (2, AttemptStatus.SUCCEEDED, None, None)]
        assert [(a.attempt, a.status, a.ended_at) for a in logs["b"]] == [
            (1, AttemptStatus.STARTED, None)]
        assert logs["c"] == () and logs["a"][0].started_at == AT
        r2 = RunStore(reading, Ledger(reading)).get("r2")
        assert r2.cancel_requested is (revision not in ("0001", "legacy"))
    finally:
        reading.dispose()


@pytest.mark.parametrize("revision", ["0001", "0002"])
def test_a_sqlite_upgrade_leaves_the_connection_with_foreign_keys_on(tmp_path, revision):
    engine = make_engine(f"sqlite:///{tmp_path / 'baton.db'}")
    _populated_at(engine, revision)
    upgrade(engine)
    with engine.connect() as conn:  # the pool's connection the upgrade ran on
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
            conn.execute(text("DELETE FROM runs WHERE id = 'r1'"))
    engine.dispose()


def test_an_upgrade_that_would_leave_a_reference_to_a_missing_row_is_refused(tmp_path):
    path = tmp_path / "baton.db"
    engine = make_engine(f"sqlite:///{path}")
    _populated_at(engine, "0001")
    with sqlite3.connect(path) as conn:  # a step whose run was deleted by hand, checks off
        conn.execute("DELETE FROM runs WHERE id = 'r2'")
    conn.close()
    before = _snapshot(engine)

    with pytest.raises(StoreError) as refused:
        upgrade(engine, origin=ORIGIN)

    assert refused.value.message == (
        f"cannot upgrade the schema of the database {path} (from {ORIGIN}): 1 row of run_steps "
        "refers to no row of runs (rowid 4); the upgrade was rolled back and nothing was "
        "changed: restore the missing rows or delete the rows that refer to them, then run "
        "Baton again")
    assert current_revision(engine) == "0001"
    assert _snapshot(engine) == before
    engine.dispose()
