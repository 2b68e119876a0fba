"""A step whose start committed before a cancel is a running step: the cancel lets it finish,
even when that commit came in the middle of the loop's turn (a preparation failure commits its
attempt at once, and with it every start queued before it) and the turn's own commit is the one
that sees the cancel.

The cancel commits from inside the turn, through the store's real cancel, called by a later
step's ``effect_from_args``; the owner's poll is so rare it never sees the flag. Nothing here
depends on timing.
"""

from __future__ import annotations

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from executor.scheduling import StepStatus
from executor.store.runs import RunStore
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tools import ToolContext, ToolRegistry

NEVER_POLLS_S = 1e9


def test_a_start_committed_mid_turn_before_the_cancel_is_called(engine, tmp_path):
    """x is queued, p's preparation fails (committing x's start with p's attempt), then y's
    preparation commits a cancel: x is called and its result recorded; y never starts."""
    calls: list[str] = []
    armed: dict[str, str] = {}
    registry = ToolRegistry()

    @registry.tool("work")
    def work(context: ToolContext) -> int:
        """Counts its calls."""
        calls.append(context.step_id)
        return 2

    def cancel_now(_args: dict) -> str:
        run_id = armed.pop("run", None)
        if run_id:  # a person's cancel commits here, between two commits of one turn
            assert RunStore(engine, Ledger(engine)).request_cancel(run_id, actor="carol")
        return "read"

    @registry.tool("work.late", effect_from_args=cancel_now)
    def late(context: ToolContext, n: int = 0) -> int:
        """Counts its calls."""
        calls.append(context.step_id)
        return 3

    runner = make_runner(engine, registry, tmp_path, lease_s=60.0, concurrency=3)
    runner.poll_s = NEVER_POLLS_S  # only a commit can see the flag
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "x", "tool": "work"}, {"id": "p", "tool": "no.such.tool"},
        {"id": "y", "tool": "work.late", "args": {"n": 1}}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    armed["run"] = run_id
    record = runner.run_sync(run_id)

    assert not armed  # the cancel was made, inside the turn
    assert calls == ["x"]
    assert record.status is RunStatus.CANCELLED and record.error is None
    steps = {s.step_id: s for s in record.steps}
    x = steps["x"]
    assert x.status is StepStatus.SUCCEEDED and x.output == {"value": 2} and x.attempts == 1
    assert [a.status for a in x.attempt_log] == [AttemptStatus.SUCCEEDED]
    assert steps["p"].status is StepStatus.FAILED
    y = steps["y"]  # its start was left out of the commit that saw the cancel
    assert y.status is StepStatus.PENDING and y.attempts == 0 and y.attempt_log == ()
    events = Ledger(engine).events(subject=run_id)
    assert [(e.kind, e.payload.get("step")) for e in events][1:] == [
        ("attempt_start", "x"), ("attempt_start", "p"), ("cancel_request", None),
        ("attempt_failure", "p"), ("attempt_success", "x"), ("run_cancel", None),
        ("run_end", None)]
    assert events[-1].payload == {"status": "cancelled", "error": None}
    assert Ledger(engine).verify().ok
