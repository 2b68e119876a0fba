"""A run read back shows one moment: its row and its steps come from the same snapshot.

A writer that commits between the reader's statements (the run's row, then its steps) must
not show a reader a run still ``running`` whose step already ``succeeded``, or a run that
``succeeded`` with a step still ``running``. The write is made from a second engine right
after the reader's first statement ran, on SQLite and on PostgreSQL (where a transaction at
READ COMMITTED would see it: each statement takes a new snapshot there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine

from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from executor.store.claims import RUNS, STEPS
from executor.store.db import make_engine
from executor.store.runs import RunStore


@pytest.fixture
def runs(engine) -> RunStore:
    store = RunStore(engine, Ledger(engine))
    store.create(run_id="r1", plan_id="p1", version=1, plan_hash="h" * 64,
                 steps=[("load", "files.read"), ("save", "files.write")],
                 requested_by="alice", concurrency=1)
    with engine.begin() as conn:
        conn.execute(update(RUNS).where(RUNS.c.id == "r1").values(status="running"))
        conn.execute(update(STEPS).where(STEPS.c.run_id == "r1")
                     .values(status=StepStatus.RUNNING.value))
    return store


def _finish_the_run(db_url: str) -> None:
    """Commit, from another engine, the run and all its steps succeeded (one transaction)."""
    writer = make_engine(db_url)
    try:
        with writer.begin() as conn:
            conn.execute(update(STEPS).where(STEPS.c.run_id == "r1")
                         .values(status=StepStatus.SUCCEEDED.value))
            conn.execute(update(RUNS).where(RUNS.c.id == "r1").values(status="succeeded"))
    finally:
        writer.dispose()


def _after_first_read(engine: Engine, action: Callable[[], None]) -> Callable[[], None]:
    """Run ``action`` once, right after the first statement on ``engine`` that reads ``runs``
    has run; return the function that removes the hook."""
    done = []

    def hook(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not done and statement.lstrip().upper().startswith("SELECT") and "runs" in statement:
            done.append(True)
            action()

    event.listen(engine, "after_cursor_execute", hook)
    return lambda: event.remove(engine, "after_cursor_execute", hook)


def test_a_run_and_its_steps_are_read_from_one_moment(runs, engine, db_url):
    remove = _after_first_read(engine, lambda: _finish_the_run(db_url))
    try:
        record = runs.get("r1")
    finally:
        remove()

    assert record is not None
    steps = {step.status for step in record.steps}
    # The moment before the write: the run running, both steps running.
    assert record.status is RunStatus.RUNNING
    assert steps == {StepStatus.RUNNING}
    # The write did land: a read after it sees the run finished, steps and all.
    after = runs.get("r1")
    assert after.status is RunStatus.SUCCEEDED
    assert {step.status for step in after.steps} == {StepStatus.SUCCEEDED}



def test_a_writer_after_a_reader_on_the_same_connection_sees_each_commit(engine):
    """The reader's level is the reader's alone: the pooled connection it returns writes at
    READ COMMITTED again, which every lock-then-read (the ledger's head, a run's owner) needs."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no isolation levels to set")
    from executor.store.db import POSTGRES_ISOLATION, read_transaction

    engine.dispose()  # an empty pool: the reader's connection is the only one there is
    with read_transaction(engine) as conn:
        reader = conn.exec_driver_sql("SHOW transaction_isolation").scalar()
    with engine.begin() as conn:
        writer = conn.exec_driver_sql("SHOW transaction_isolation").scalar()
    assert engine.pool.checkedin() == 1  # one connection: the writer had the reader's
    assert (reader, writer) == ("repeatable read", POSTGRES_ISOLATION.lower())
