"""A commit in the middle of the loop's turn (a preparation failure commits its attempt at
once) holds back the starts queued before it for the turn's own commit: their tools are not
called yet. When a cancel commits between the two, the turn's commit sees it and leaves those
starts out: the steps never start, as any step queued when a cancel commits. (The mid-turn
commit used to record them, and the cancel let them run.)

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


def test_a_start_queued_before_a_mid_turn_commit_is_not_called_after_a_cancel(engine,
                                                                              tmp_path):
    """x is queued, p's preparation fails (committing p's attempt, not x's start), then y's
    preparation commits a cancel: the turn's commit sees it; neither x nor y starts."""
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
    assert calls == []
    assert record.status is RunStatus.CANCELLED and record.error is None
    steps = {s.step_id: s for s in record.steps}
    assert steps["p"].status is StepStatus.FAILED
    assert [a.status for a in steps["p"].attempt_log] == [AttemptStatus.FAILED]
    for sid in ("x", "y"):  # their starts were left out of the commit that saw the cancel
        step = steps[sid]
        assert step.status is StepStatus.PENDING and step.attempts == 0
        assert step.attempt_log == () and step.started_at is None
    events = Ledger(engine).events(subject=run_id)
    assert [(e.kind, e.payload.get("step")) for e in events][1:] == [
        ("attempt_start", "p"), ("cancel_request", None), ("attempt_failure", "p"),
        ("run_cancel", None), ("run_end", None)]
    assert events[-1].payload == {"status": "cancelled", "error": None}
    assert Ledger(engine).verify().ok
