"""The run's event stream ends at the run's end: not at the end of an earlier try of a run
that failed and was resumed."""

from __future__ import annotations

import json
import threading

from sqlalchemy import update
from sqlmodel import Session

from executor.ledger import EventKind
from executor.store.runs import RunStore
from executor.store.schema import RunRow
from planner.plan import Plan
from tests.executor.runsupport import approved_plan

PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "echo", "args": {}}]})


def _transition(services, run_id, status, kind, payload):
    """The run's status and its lifecycle event, committed together as the store does."""
    with Session(services.engine) as s:
        s.execute(update(RunRow).where(RunRow.id == run_id).values(status=status))
        services.ledger.append(kind, run_id, "executor", payload, session=s)
        s.commit()


def test_the_stream_of_a_failed_then_resumed_run_goes_on_to_its_real_end(services, client_for):
    store = RunStore(services.engine, services.ledger)
    run_id = "r-resumed0001"
    store.create(run_id=run_id, plan_id=approved_plan(services.engine, PLAN), version=1,
                 plan_hash=PLAN.plan_hash(), steps=[("a", "echo")], requested_by="alice",
                 concurrency=1)
    _transition(services, run_id, "failed", EventKind.RUN_END, {"status": "failed", "error": "x"})
    _transition(services, run_id, "running", EventKind.RUN_RESUME, {"owner": "o"})
    kinds: list[str] = []
    resumed, closed = threading.Event(), threading.Event()

    def listen() -> None:
        with client_for("alice").stream("GET", f"/runs/{run_id}/events", timeout=30) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    kinds.append(json.loads(line.removeprefix("data: "))["kind"])
                    if kinds[-1] == "run_resume":
                        resumed.set()
        closed.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert resumed.wait(20)
    _transition(services, run_id, "succeeded", EventKind.RUN_END,
                {"status": "succeeded", "error": None})
    assert closed.wait(20), "the stream did not end at the run's end"
    assert kinds == ["run_start", "run_end", "run_resume", "run_end"]


def test_the_stream_of_a_run_that_failed_and_was_not_resumed_ends(services, client_for):
    store = RunStore(services.engine, services.ledger)
    run_id = "r-failed00001"
    store.create(run_id=run_id, plan_id=approved_plan(services.engine, PLAN), version=1,
                 plan_hash=PLAN.plan_hash(), steps=[("a", "echo")], requested_by="alice",
                 concurrency=1)
    _transition(services, run_id, "failed", EventKind.RUN_END, {"status": "failed", "error": "x"})
    with client_for("alice").stream("GET", f"/runs/{run_id}/events", timeout=30) as stream:
        kinds = [json.loads(line.removeprefix("data: "))["kind"]
                 for line in stream.iter_lines() if line.startswith("data: ")]
    assert kinds == ["run_start", "run_end"]
