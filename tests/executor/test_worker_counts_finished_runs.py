"""``Runner.worker`` counts the runs it finished (``baton worker`` prints "worker ran N
run(s)"): a run it claimed but lost to a takeover is not one, and its warning says what became
of it. Every run stopped on a lost lease or a database failure was counted as run."""

from __future__ import annotations

from structlog.testing import capture_logs

from executor.records import RunStatus
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tools import ToolRegistry


def test_a_run_taken_over_from_the_worker_is_not_counted_as_run(engine, tmp_path):
    registry = ToolRegistry()
    worker = make_runner(engine, registry, tmp_path)
    other = make_runner(engine, registry, tmp_path)
    run_ids: list[str] = []

    @registry.tool("x.stall")
    def stall() -> int:
        """Stalls, the first time, while another process takes its run over (its owner
        judged gone)."""
        row = other.store.run_row(run_ids[0])
        if row["owner"] == worker.owner_id:
            assert other.store.take_over(run_ids[0], other.owner_id,
                                         expected_owner=worker.owner_id,
                                         expected_lease=row["lease_expires_at"], lease_s=30)
        return 1

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "x.stall"}]})
    run_ids.append(worker.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                                     detach=True))
    with capture_logs() as logs:
        assert worker.worker(once=True) == 0
    (left,) = [e for e in logs if e.get("run_id") == run_ids[0] and e["log_level"] == "warning"]
    assert left["event"] == "run stopped"
    assert f"run {run_ids[0]} was taken over by {other.owner_id}" in left["error"]
    # Its new owner finishes it.
    assert other.run_sync(run_ids[0]).status is RunStatus.SUCCEEDED


def test_runs_the_worker_ended_are_counted_whatever_their_end(engine, tmp_path):
    registry = ToolRegistry()

    @registry.tool("x.ok")
    def ok() -> int:
        """Succeeds."""
        return 1

    @registry.tool("x.broken")
    def broken() -> int:
        """Fails for good."""
        raise ValueError("broken")

    worker = make_runner(engine, registry, tmp_path)
    for tool in ("x.ok", "x.broken"):
        plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": tool}]})
        worker.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                          detach=True)
    assert worker.worker(once=True) == 2
