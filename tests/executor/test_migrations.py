"""Schema migrations: empty databases, re-runs, legacy create_all databases, drift."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel, select

from executor.ledger import Ledger
from executor.store.db import StoreError, make_engine
from executor.store.migrate import BASELINE_REVISION, current_revision, head_revision, upgrade
from executor.store.schema import PlanRow
from tests.executor.conftest import PG_URL, postgres_available


def test_upgrade_on_an_empty_database_creates_every_table_at_head(empty_engine):
    upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert current_revision(empty_engine) == head_revision()


def test_upgrade_twice_is_a_no_op_and_keeps_rows(engine):
    ledger = Ledger(engine)
    ledger.append("goal", "p1", "alice", {"goal": "count"})
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert [e.subject for e in ledger.events()] == ["p1"]
    assert ledger.verify().ok


def test_a_create_all_database_is_stamped_and_keeps_its_rows(empty_engine):
    SQLModel.metadata.create_all(empty_engine)
    ledger = Ledger(empty_engine)
    ledger.append("goal", "p1", "alice", {"goal": "count"})
    with Session(empty_engine) as session:
        session.add(PlanRow(id="p1", goal="count", requester="alice", created_at=datetime.now(UTC)))
        session.commit()

    upgrade(empty_engine)

    assert current_revision(empty_engine) == head_revision()
    with Session(empty_engine) as session:
        assert session.exec(select(PlanRow.id)).all() == ["p1"]
    assert ledger.verify().ok and ledger.verify().events == 1


def test_upgrade_from_the_baseline_revision_reaches_head_and_keeps_rows(empty_engine):
    from alembic import command

    from executor.store.migrate import alembic_config

    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE_REVISION)
        # Columns as they were at the baseline: later revisions add to them.
        conn.execute(text(
            "INSERT INTO runs (id, plan_id, version, plan_hash, status, requested_by, concurrency,"
            " created_at) VALUES ('r1', 'p1', 1, :h, 'succeeded', 'alice', 4, :at)"),
            {"h": "0" * 64, "at": datetime.now(UTC)})
    Ledger(empty_engine).append("goal", "p1", "alice", {})

    upgrade(empty_engine)

    assert current_revision(empty_engine) == head_revision() != BASELINE_REVISION
    with empty_engine.connect() as conn:
        runs = conn.execute(text("SELECT id, status, plan_id FROM runs")).all()
    assert [tuple(r) for r in runs] == [("r1", "succeeded", "p1")]
    assert Ledger(empty_engine).verify().events == 1


def test_concurrent_upgrades_of_one_database_both_succeed(db_url):
    errors: list[BaseException] = []

    def run() -> None:
        engine = make_engine(db_url)
        try:
            upgrade(engine)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = make_engine(db_url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    assert [v[0] for v in versions] == [head_revision()]


def test_in_memory_sqlite_is_upgraded():
    engine = make_engine("sqlite://")
    upgrade(engine)
    Ledger(engine).append("goal", "p1", "alice", {})
    assert Ledger(engine).verify().ok


def test_revision_0003_keeps_the_ledger_and_its_chain(empty_engine):
    from alembic import command

    from executor.store.migrate import alembic_config

    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0002")
    ledger = Ledger(empty_engine)
    for i in range(5):
        ledger.append("goal", f"p{i}", "alice", {"goal": f"g{i}", "n": i})
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert [e.subject for e in ledger.events()] == [f"p{i}" for i in range(5)]
    assert ledger.verify().ok
    ledger.append("goal", "p5", "alice", {"goal": "after"})
    assert ledger.verify().ok and ledger.events()[-1].seq == 6


def _at_0003_with_attempts(engine) -> None:
    """A database at revision 0003 with one run: step 'a' tried twice (failed, then succeeded),
    step 'b' in flight (started), step 'c' never attempted."""
    from alembic import command

    from executor.store.migrate import alembic_config

    at = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")
        conn.execute(text(
            "INSERT INTO runs (id, plan_id, version, plan_hash, status, requested_by, concurrency,"
            " cancel_requested, created_at) VALUES ('r1', 'p1', 1, :h, 'running', 'alice', 4, false, :at)"),
            {"h": "0" * 64, "at": at})
        for position, (sid, status, attempts) in enumerate(
                [("a", "succeeded", 2), ("b", "running", 1), ("c", "pending", 0)]):
            conn.execute(text(
                "INSERT INTO run_steps (run_id, step_id, tool, position, status, attempts,"
                " idempotency_key) VALUES ('r1', :sid, 't', :pos, :status, :n, :key)"),
                {"sid": sid, "pos": position, "status": status, "n": attempts, "key": "k-" + sid})
        for sid, attempt, status, error, retryable, ended in [
                ("a", 1, "failed", "HTTP 503", True, at), ("a", 2, "succeeded", None, None, at),
                ("b", 1, "started", None, None, None)]:
            conn.execute(text(
                "INSERT INTO attempts (run_id, step_id, attempt, status, error, retryable, started_at,"
                " ended_at) VALUES ('r1', :sid, :n, :status, :error, :retryable, :at, :ended)"),
                {"sid": sid, "n": attempt, "status": status, "error": error,
                 "retryable": retryable, "at": at, "ended": ended})


def test_revision_0004_moves_every_attempt_into_its_step_row(empty_engine):
    from executor.records import AttemptStatus
    from executor.store.runs import RunStore

    _at_0003_with_attempts(empty_engine)
    upgrade(empty_engine)

    assert "attempts" not in inspect(empty_engine).get_table_names()
    record = RunStore(empty_engine, Ledger(empty_engine)).get("r1")
    logs = {s.step_id: s.attempt_log for s in record.steps}
    assert [(a.attempt, a.status, a.error, a.retryable) for a in logs["a"]] == [
        (1, AttemptStatus.FAILED, "HTTP 503", True), (2, AttemptStatus.SUCCEEDED, None, None)]
    assert logs["a"][0].started_at == datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
    assert logs["a"][1].ended_at == logs["a"][0].started_at
    assert [(a.attempt, a.status, a.ended_at) for a in logs["b"]] == [(1, AttemptStatus.STARTED, None)]
    assert logs["c"] == ()


def test_revision_0004_downgrades_back_to_an_attempts_table(empty_engine):
    from alembic import command

    from executor.store.migrate import alembic_config

    _at_0003_with_attempts(empty_engine)
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    with empty_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT step_id, attempt, status, error FROM attempts ORDER BY step_id, attempt")).all()
    assert [tuple(r) for r in rows] == [("a", 1, "failed", "HTTP 503"), ("a", 2, "succeeded", None),
                                        ("b", 1, "started", None)]
    assert "attempt_log" not in {c["name"] for c in inspect(empty_engine).get_columns("run_steps")}


def test_revision_0004_carries_every_attempt_across_its_batches(empty_engine):
    """More steps and attempts than one batch of the streamed backfill (1,000): none is lost or
    split between two logs, in either direction."""
    from alembic import command

    from executor.store import attempt_log
    from executor.store.migrate import alembic_config

    steps, at = 2_345, datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")
        conn.execute(text(
            "INSERT INTO runs (id, plan_id, version, plan_hash, status, requested_by, concurrency,"
            " cancel_requested, created_at) VALUES ('r1', 'p1', 1, :h, 'failed', 'alice', 4, false, :at)"),
            {"h": "0" * 64, "at": at})
        conn.execute(text(
            "INSERT INTO run_steps (run_id, step_id, tool, position, status, attempts, idempotency_key)"
            " VALUES ('r1', :sid, 't', :pos, 'failed', :n, :key)"),
            [{"sid": f"s{i:05}", "pos": i, "n": 1 + i % 3, "key": f"k{i}"} for i in range(steps)])
        conn.execute(text(
            "INSERT INTO attempts (run_id, step_id, attempt, status, error, retryable, started_at,"
            " ended_at) VALUES ('r1', :sid, :n, 'failed', :error, true, :at, :at)"),
            [{"sid": f"s{i:05}", "n": n, "error": f"e{i}.{n}", "at": at}
             for i in range(steps) for n in range(1, 2 + i % 3)])

    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        logs = dict(conn.execute(text("SELECT step_id, attempt_log FROM run_steps")).all())
    assert len(logs) == steps
    for i in range(steps):
        assert [e["error"] for e in attempt_log.parse(logs[f"s{i:05}"])] == [
            f"e{i}.{n}" for n in range(1, 2 + i % 3)]

    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    with empty_engine.connect() as conn:
        count = conn.execute(text("SELECT count(*), count(DISTINCT error) FROM attempts")).one()
    expected = sum(1 + i % 3 for i in range(steps))
    assert tuple(count) == (expected, expected)  # every attempt back, each once


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running on 127.0.0.1")
def test_a_postgresql_database_that_does_not_exist_says_to_create_it():
    missing = f"baton_missing_{uuid.uuid4().hex[:8]}"
    engine = make_engine(PG_URL.rsplit("/", 1)[0] + f"/{missing}")
    try:
        with pytest.raises(StoreError) as failed:
            upgrade(engine)
    finally:
        engine.dispose()
    message = failed.value.message
    assert f'database "{missing}" does not exist' in message
    assert message.endswith("create the database first (e.g. createdb), then Baton creates its tables")
    assert "\n" not in message and "sqlalche.me" not in message


def _at_0004_with_a_decision(engine) -> None:
    """A database at revision 0004 holding one decision (no template check column yet)."""
    from alembic import command

    from executor.store.migrate import alembic_config

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")
        conn.execute(text(
            "INSERT INTO decisions (plan_id, version, plan_hash, decision_json, engine,"
            " bundle_hash, decided_at) VALUES ('p1', 1, :h, :d, 'embedded', :b, :at)"),
            {"h": "0" * 64, "b": "1" * 64, "at": datetime(2026, 12, 1, tzinfo=UTC),
             "d": '{"allow":true,"approvals":{"count":0,"roles":[]},"bundle_hash":"' + "1" * 64
                  + '","deny":[],"engine":"embedded","notes":[],"risk":5}'})


def test_revision_0005_keeps_every_decision_with_no_input_on_record(empty_engine):
    from executor.store.approvals import ApprovalStore

    _at_0004_with_a_decision(empty_engine)
    upgrade(empty_engine)

    decided = ApprovalStore(empty_engine).latest_decision("p1", 1)
    assert decided is not None and decided.decision.allow and decided.plan_hash == "0" * 64
    assert decided.input_hash is None  # taken again before its next use


def test_revision_0005_downgrades_and_keeps_the_decisions(empty_engine):
    from alembic import command

    from executor.store.migrate import alembic_config

    _at_0004_with_a_decision(empty_engine)
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    columns = {c["name"] for c in inspect(empty_engine).get_columns("decisions")}
    assert "input_hash" not in columns
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT plan_id, version FROM decisions")).all() == [("p1", 1)]


def _at_0005_with_runs(engine) -> None:
    """A database at revision 0005 holding two runs of plan p1 (indexed by plan_id alone)."""
    from alembic import command

    from executor.store.migrate import alembic_config

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0005")
        conn.execute(text(
            "INSERT INTO runs (id, plan_id, version, plan_hash, status, requested_by, concurrency,"
            " cancel_requested, created_at) VALUES (:id, 'p1', 1, :h, 'succeeded', 'alice', 4, false, :at)"),
            [{"id": f"r{n}", "h": "0" * 64, "at": datetime(2026, 12, n, tzinfo=UTC)} for n in (1, 2)])


def _runs_indexes(engine) -> dict[str, list[str]]:
    return {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("runs")}


def test_revision_0006_indexes_runs_by_plan_and_time_and_keeps_them(empty_engine):
    from executor.store.runs import RunStore

    _at_0005_with_runs(empty_engine)
    upgrade(empty_engine)

    indexes = _runs_indexes(empty_engine)
    assert indexes["ix_runs_plan_id_created_at"] == ["plan_id", "created_at"]
    assert "ix_runs_plan_id" not in indexes  # the composite one serves plan_id alone
    listed = RunStore(empty_engine, Ledger(empty_engine)).list(plan_id="p1")
    assert [r.id for r in listed] == ["r2", "r1"]


def test_revision_0006_downgrades_to_the_plan_id_index_and_keeps_the_runs(empty_engine):
    from alembic import command

    from executor.store.migrate import alembic_config

    _at_0005_with_runs(empty_engine)
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005")
    indexes = _runs_indexes(empty_engine)
    assert indexes["ix_runs_plan_id"] == ["plan_id"]
    assert "ix_runs_plan_id_created_at" not in indexes
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM runs ORDER BY id")).all() == [("r1",), ("r2",)]


def test_revision_0007_indexes_runs_by_status_and_time_and_keeps_them(empty_engine):
    from executor.records import RunStatus
    from executor.store.runs import RunStore

    _at_0005_with_runs(empty_engine)
    upgrade(empty_engine)

    indexes = _runs_indexes(empty_engine)
    assert indexes["ix_runs_status_created_at"] == ["status", "created_at"]
    assert indexes["ix_runs_created_at"] == ["created_at"]
    assert "ix_runs_status" not in indexes  # the composite one serves status alone
    runs = RunStore(empty_engine, Ledger(empty_engine))
    assert [r.id for r in runs.list(status=RunStatus.SUCCEEDED)] == ["r2", "r1"]
    assert [r.id for r in runs.list(limit=1)] == ["r2"]


def test_revision_0007_downgrades_to_the_status_index_and_keeps_the_runs(empty_engine):
    from alembic import command

    from executor.store.migrate import alembic_config

    _at_0005_with_runs(empty_engine)
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006")
    indexes = _runs_indexes(empty_engine)
    assert indexes["ix_runs_status"] == ["status"]
    assert "ix_runs_status_created_at" not in indexes and "ix_runs_created_at" not in indexes
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM runs ORDER BY id")).all() == [("r1",), ("r2",)]


def _at_0007_with_runs(engine) -> None:
    """A database at revision 0007 (no artifacts table) holding two runs of plan p1."""
    from alembic import command

    from executor.store.migrate import alembic_config

    _at_0005_with_runs(engine)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0007")


def test_revision_0008_adds_the_artifacts_table_and_keeps_the_runs(empty_engine, tmp_path):
    from executor.artifact_rows import DatabaseArtifactStore
    from executor.artifacts import URI_PREFIX

    _at_0007_with_runs(empty_engine)
    assert "artifacts" not in inspect(empty_engine).get_table_names()
    upgrade(empty_engine)

    columns = {c["name"] for c in inspect(empty_engine).get_columns("artifacts")}
    assert columns == {"sha256", "data", "size", "created_at"}
    assert inspect(empty_engine).get_pk_constraint("artifacts")["constrained_columns"] == ["sha256"]
    store = DatabaseArtifactStore(empty_engine, tmp_path / "artifacts", threshold_bytes=8)
    assert store.load(URI_PREFIX + store.put(b'{"rows":[1,2,3]}')) == {"rows": [1, 2, 3]}
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM runs ORDER BY id")).all() == [("r1",), ("r2",)]


def test_revision_0008_downgrades_without_the_artifacts_table_and_keeps_the_runs(empty_engine):
    from alembic import command

    from executor.store.migrate import alembic_config

    _at_0007_with_runs(empty_engine)
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0007")
    assert "artifacts" not in inspect(empty_engine).get_table_names()
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM runs ORDER BY id")).all() == [("r1",), ("r2",)]


def _with_template_check_hash_at(engine, revision: str) -> None:
    """A database made by the Baton of commits 408ce82..5e65ed5, whose 0005 added
    ``template_check_hash`` (edited in place later to add ``input_hash``), holding one decision
    with a template check hash on record, then upgraded by a later Baton up to ``revision``."""
    from alembic import command

    from executor.store.migrate import alembic_config

    _at_0004_with_a_decision(engine)
    with engine.begin() as conn:
        # What that 0005 did, and the hash its decisions stored.
        conn.execute(text("ALTER TABLE decisions ADD COLUMN template_check_hash VARCHAR(64)"))
        conn.execute(text("UPDATE decisions SET template_check_hash = :h"), {"h": "a" * 64})
        config = alembic_config(conn)
        command.stamp(config, "0005")
        command.upgrade(config, revision)


@pytest.mark.parametrize("revision", ["0005", "0006", "0009"])
def test_a_database_with_template_check_hash_gets_input_hash_and_keeps_its_decisions(
        empty_engine, revision):
    from executor.store.approvals import ApprovalStore

    _with_template_check_hash_at(empty_engine, revision)
    upgrade(empty_engine)

    assert current_revision(empty_engine) == head_revision()
    columns = {c["name"] for c in inspect(empty_engine).get_columns("decisions")}
    assert "input_hash" in columns and "template_check_hash" not in columns
    decided = ApprovalStore(empty_engine).latest_decision("p1", 1)
    assert decided is not None and decided.decision.allow and decided.plan_hash == "0" * 64
    # The template check's hash is not the policy input's: none is on record, so the decision
    # is taken again before its next use, saying so (not that roles or tools changed).
    assert decided.input_hash is None
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_a_database_with_template_check_hash_downgrades_to_0004_keeping_the_decisions(
        empty_engine):
    from alembic import command

    from executor.store.migrate import alembic_config

    _with_template_check_hash_at(empty_engine, "0006")
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    columns = {c["name"] for c in inspect(empty_engine).get_columns("decisions")}
    assert not {"input_hash", "template_check_hash"} & columns
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT plan_id, version FROM decisions")).all() == [("p1", 1)]


def test_revision_0010_downgrades_keeping_input_hash_and_the_decisions(empty_engine):
    from alembic import command

    from executor.store.approvals import ApprovalStore
    from executor.store.migrate import alembic_config

    _with_template_check_hash_at(empty_engine, "0009")
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0009")
    # input_hash is what 0005 adds now: a database at 0009 has it.
    decided = ApprovalStore(empty_engine).latest_decision("p1", 1)
    assert decided is not None and decided.plan_hash == "0" * 64 and decided.input_hash is None
