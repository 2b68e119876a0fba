"""A run's lifecycle written straight to the store: a run that failed, then one resumed.

For tests of what readers (the event stream, the run page) make of a run's history,
without running a tool.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from executor.ledger import EventKind
from executor.store.runs import RunStore
from executor.store.schema import RunRow
from planner.plan import Plan
from tests.executor.runsupport import approved_plan

ONE_STEP = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "echo", "args": {}}]})


def transition(services: Any, run_id: str, status: str, kind: EventKind,
               payload: dict[str, Any]) -> None:
    """The run's status and its lifecycle event, committed together as the store does."""
    with Session(services.engine) as s:
        s.execute(update(RunRow).where(RunRow.id == run_id).values(status=status))
        services.ledger.append(kind, run_id, "executor", payload, session=s)
        s.commit()


def failed_run(services: Any, run_id: str) -> None:
    """A one-step run that started and ended failed."""
    RunStore(services.engine, services.ledger).create(
        run_id=run_id, plan_id=approved_plan(services.engine, ONE_STEP), version=1,
        plan_hash=ONE_STEP.plan_hash(), steps=[("a", "echo")], requested_by="alice",
        concurrency=1)
    transition(services, run_id, "failed", EventKind.RUN_END, {"status": "failed", "error": "x"})


def resumed_run(services: Any, run_id: str) -> None:
    """A run that failed and was resumed: running again, after a first run_end."""
    failed_run(services, run_id)
    transition(services, run_id, "running", EventKind.RUN_RESUME, {"owner": "o"})
