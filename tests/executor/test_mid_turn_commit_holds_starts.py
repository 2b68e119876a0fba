"""A commit in the middle of a turn (a preparation failure's, one while a runtime check waits)
commits what it must but not the starts queued for the turn's own commit: their tools are not
called yet. Committed, a start reads as a call that may have been made, so a loop stopped
before the turn's commit left a write that is not idempotent refused on resume ("may have had
its effect"), though it was never called.

Each run below is stopped after the mid-turn commit, before the turn's; the resume must call
the write once, and it succeeds.
"""

from __future__ import annotations

import pytest

from executor.checks import StepCall, StepDecision
from executor.errors import RunDeferredError
from executor.runner import StepProgress
from executor.scheduling import StepStatus
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tools import Effect, ToolRegistry


class _CannotJudgeYet(RunDeferredError):
    """The settings file does not load now: the check waits, committing meanwhile."""


def _registry(calls: list[str]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("write", effect=Effect.WRITE, idempotent=False)
    def write() -> int:
        """A write, not idempotent."""
        calls.append("write")
        return 1

    @registry.tool("note", effect=Effect.WRITE, idempotent=True)
    def note() -> int:
        """A write the runtime check is asked about."""
        return 2

    return registry


class _Check:
    """Allows every call; armed, the check of ``c`` cannot judge at first (the loop commits
    while it waits), then is interrupted (Ctrl-C)."""

    def __init__(self, armed: dict[str, bool]) -> None:
        self.armed = armed

    def check_step(self, call: StepCall) -> StepDecision:
        if call.step_id == "c" and self.armed.pop("check", False):
            self.armed["interrupt"] = True
            raise _CannotJudgeYet("settings file does not load")
        if call.step_id == "c" and self.armed.pop("interrupt", False):
            raise KeyboardInterrupt
        return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)


@pytest.mark.parametrize("commit", ["prepare", "check"])
def test_a_write_queued_before_a_mid_turn_commit_is_called_once_on_resume(engine, tmp_path,
                                                                         commit):
    calls: list[str] = []
    armed = {commit: True}

    def bug_once_p_failed(progress: StepProgress) -> None:  # an internal error: run failed
        if progress.status is StepStatus.FAILED and armed.pop("prepare", False):
            raise RuntimeError("a bug")

    # w's start is queued, then p fails in preparation (committing its attempt at once), or
    # c's check cannot judge (committing while it waits).
    second = {"id": "p", "tool": "no.such.tool"} if commit == "prepare" else {
        "id": "c", "tool": "note"}
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "w", "tool": "write"}, second]})
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=_Check(armed),
                         observer=bug_once_p_failed, concurrency=2)
    runner.poll_s = 0.01
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(RuntimeError if commit == "prepare" else KeyboardInterrupt):
        runner.run_sync(run_id)
    assert not armed and calls == []
    stopped = {s.step_id: s for s in runner.store.get(run_id).steps}
    assert stopped["w"].attempt_log == ()  # never called: its start not committed either
    resumed = {s.step_id: s for s in runner.resume_sync(run_id).steps}
    assert calls == ["write"]
    assert resumed["w"].status is StepStatus.SUCCEEDED, resumed["w"].error
