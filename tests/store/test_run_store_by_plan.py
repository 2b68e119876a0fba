"""RunStore.list by plan, on SQLite and PostgreSQL: a plan's runs are read by its id, so
other plans' newer runs never push them out of the limit."""

from __future__ import annotations

from executor.ledger import Ledger
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
