"""Storage that fails in the middle of a run (the database, the artifact directory): a clear
error naming the run, nothing committed lost, and the run resumable."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlmodel import Session
from structlog.testing import capture_logs

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from executor.scheduling import StepStatus
from executor.store import StoreError
from executor.store.db import DatabaseFileGoneError, is_database_error
from executor.store.schema import RunRow
from planner.plan import Plan
from tools import ToolRegistry

from tests.executor.runsupport import approved_plan, make_runner, one


def _cut_connection(engine, runner) -> None:
    """Break the runner's pinned connection the way a dead server or a lost file would."""
    dbapi = runner.store._writer_pinned._conn  # noqa: SLF001 - the connection under test
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dbapi.info.backend_pid})
    else:
        dbapi.close()


def test_a_database_lost_mid_run_stops_it_with_a_store_error_and_loses_nothing(engine, tmp_path):
    registry = ToolRegistry()
    calls: list[str] = []
    runner = None

    @registry.tool("cut")
    def cut(name: str) -> str:
        """Loses the database under the runner on its first call.

        Args:
            name: Which step this is.
        """
        calls.append(name)
        if len(calls) == 1:
            _cut_connection(engine, runner)
        return name

    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "cut", "args": {"name": "a"}},
        {"id": "b", "tool": "cut", "args": {"name": "b"}, "depends_on": ["a"]}]})
    runner = make_runner(engine, registry, tmp_path)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(StoreError, match=f"the database failed while recording run {run_id}"):
        runner.run_sync(run_id)

    # What was committed before the failure is there: the run, and step a's start.
    store = make_runner(engine, registry, tmp_path).store
    record = store.get(run_id)
    assert record.status is RunStatus.RUNNING
    assert record.steps[0].status is StepStatus.RUNNING
    assert [a.status for a in record.steps[0].attempt_log] == [AttemptStatus.STARTED]
    assert Ledger(engine).verify().ok
    assert [e.kind for e in Ledger(engine).events(subject=run_id)] == ["run_start", "attempt_start"]

    # Once the owner is gone, the run resumes and finishes; step a is re-attempted with its key.
    with Session(engine) as s:
        s.execute(update(RunRow).where(RunRow.id == run_id).values(
            owner="gone-host:1:x", lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    done = make_runner(engine, registry, tmp_path).resume_sync(run_id)
    assert done.status is RunStatus.SUCCEEDED and calls == ["a", "a", "b"]
    assert Ledger(engine).verify().ok


def test_an_artifact_that_cannot_be_written_fails_the_run_with_a_clear_error(engine, tmp_path):
    """A full disk, a file where the directory should be: the step fails naming the artifact,
    the run ends failed (recorded), a worker goes on to its next run, and once the cause is
    fixed `resume` runs the step again (same idempotency key) and keeps its result."""
    registry = ToolRegistry()

    @registry.tool("big")
    def big() -> str:
        """Returns an output over the artifact threshold."""
        return "x" * 4096

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the artifact directory should be")
    runner = make_runner(engine, registry, blocked, threshold=1024)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "big"}]})
    plan_id = approved_plan(engine, plan)
    first = runner.create_run(plan_id, 1, plan, requested_by="alice", detach=True)
    second = runner.create_run(plan_id, 1, plan, requested_by="alice", detach=True)
    assert runner.worker(once=True) == 2  # the first run's failure did not stop the worker
    for run_id in (first, second):
        record = runner.store.get(run_id)
        assert record.status is RunStatus.FAILED
        assert "its result could not be stored" in record.error
        assert "cannot be written under" in record.error
        assert record.steps[0].status is StepStatus.FAILED
    assert Ledger(engine).events(subject=first)[-1].kind == "run_end"

    blocked.unlink()  # the cause is fixed
    resumed = make_runner(engine, registry, blocked, threshold=1024).resume_sync(first)
    assert resumed.status is RunStatus.SUCCEEDED
    assert resumed.steps[0].output_uri is not None and resumed.steps[0].attempts == 2


def _kill_database(engine) -> None:
    """Take the database away for good: the PostgreSQL schema dropped, the SQLite file replaced
    by a directory (nothing can open it any more)."""
    if engine.dialect.name == "postgresql":
        from tests.executor.conftest import drop_pg_schema

        drop_pg_schema(engine.url.query["options"].partition("search_path=")[2])
        return
    engine.dispose()
    path = Path(engine.url.database)
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        name.unlink(missing_ok=True)
    path.mkdir()


def _one_step_plan(tool: str = "one") -> Plan:
    return Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": tool}]})


@pytest.mark.parametrize("operation", ["starting", "renewing the lease of", "ending"])
def test_a_dead_database_at_a_run_transition_is_a_store_error_naming_the_run(
        engine, tmp_path, operation):
    registry = ToolRegistry()
    registry.register_function(one, name="one")
    runner = make_runner(engine, registry, tmp_path)
    plan = _one_step_plan()
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    _kill_database(engine)
    transition = {
        "starting": lambda: runner.store.mark_running(run_id, runner.owner_id),
        "renewing the lease of": lambda: runner.store.renew(run_id, runner.owner_id, 30.0),
        "ending": lambda: runner.store.finish(run_id, runner.owner_id, RunStatus.FAILED, "x"),
    }[operation]
    expected = f"the database failed while {operation} run {run_id}: "
    with pytest.raises(StoreError, match=expected) as caught:
        transition()
    # The SQLite file's replacement is seen before SQLite fails on it, unless the directory
    # took the freed inode of the file (one process alone often reuses it at once).
    cause = caught.value.__cause__
    assert is_database_error(cause) or isinstance(cause, DatabaseFileGoneError)


def test_a_database_lost_while_renewing_the_lease_stops_the_run_with_a_store_error(engine, tmp_path):
    registry = ToolRegistry()
    runner = None

    @registry.tool("cut")
    def cut() -> str:
        """Loses the database under the runner, then outlasts a poll of its lease."""
        _cut_connection(engine, runner)
        time.sleep(0.4)
        return "done"

    plan = _one_step_plan("cut")
    runner = make_runner(engine, registry, tmp_path, lease_s=0.3)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(StoreError, match=f"while renewing the lease of run {run_id}: "):
        runner.run_sync(run_id)


def _fail_updates_to(engine, run_id: str, status: str) -> None:
    """Make the database refuse (as a failing disk would) to set ``run_id``'s ``status``."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                              "RAISE EXCEPTION 'disk I/O error'; END $$ LANGUAGE plpgsql"))
            conn.execute(text(f"CREATE TRIGGER refuse BEFORE UPDATE ON runs FOR EACH ROW WHEN "
                              f"(NEW.id = '{run_id}' AND NEW.status = '{status}') "
                              "EXECUTE FUNCTION refuse()"))
        else:
            conn.execute(text(f"CREATE TRIGGER refuse BEFORE UPDATE ON runs WHEN "
                              f"NEW.id = '{run_id}' AND NEW.status = '{status}' "
                              "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"))


def _drop_refusal(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse ON runs" if engine.dialect.name == "postgresql"
                          else "DROP TRIGGER refuse"))


def test_a_worker_whose_run_cannot_be_ended_logs_it_and_goes_on_to_the_next_run(engine, tmp_path):
    registry = ToolRegistry()
    registry.register_function(one, name="one")
    runner = make_runner(engine, registry, tmp_path)
    plan = _one_step_plan()
    plan_id = approved_plan(engine, plan)
    first = runner.create_run(plan_id, 1, plan, requested_by="alice", detach=True)
    second = runner.create_run(plan_id, 1, plan, requested_by="alice", detach=True)
    _fail_updates_to(engine, first, "succeeded")
    with capture_logs() as logs:
        assert runner.worker(once=True) == 1  # the first one is left unfinished
    stopped = [e for e in logs if e["event"] == "run stopped"]
    assert [e["run_id"] for e in stopped] == [first]
    assert stopped[0]["error"].startswith(f"the database failed while ending run {first}: ")
    assert runner.store.get(second, detail=False).status is RunStatus.SUCCEEDED
    assert runner.store.get(first, detail=False).status is RunStatus.RUNNING  # nothing lost

    _drop_refusal(engine)  # the database is back: the run resumes, its step not repeated
    with Session(engine) as s:
        s.execute(update(RunRow).where(RunRow.id == first).values(
            owner="gone-host:1:x", lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    done = make_runner(engine, registry, tmp_path).resume_sync(first)
    assert done.status is RunStatus.SUCCEEDED and done.steps[0].attempts == 1
    assert Ledger(engine).verify().ok


def test_a_worker_whose_database_is_gone_stops_with_a_store_error(engine, tmp_path):
    registry = ToolRegistry()

    @registry.tool("doom")
    def doom() -> str:
        """Takes the database away while the worker runs this step."""
        _kill_database(engine)
        return "gone"

    runner = make_runner(engine, registry, tmp_path)
    plan = _one_step_plan("doom")
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice", detach=True)
    with capture_logs() as logs, pytest.raises(StoreError, match="while looking for a run to claim"):
        runner.worker(once=True)
    stopped = [e for e in logs if e["event"] == "run stopped"]
    assert [e["run_id"] for e in stopped] == [run_id]
    assert stopped[0]["error"].startswith("the database failed while ")
