"""An unexpected exception in the executor (a bug, a check that breaks: no BatonError) ends the
run failed, resumable, instead of leaving it running for a worker to claim again every lease
period, re-sending its in-flight step each time.

Steps left in flight end failed, their attempt interrupted, as ``baton cancel`` ends a dead
owner's; a resume sends them back to pending and calls them again with the same idempotency
key. Where the database is gone too, the end cannot be recorded: that is logged and the run
is left as it was, for a resume.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from executor.checks import StepCall, StepDecision
from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from executor.scheduling import StepStatus
from executor.store.claims import INTERNAL_ERROR_IN_FLIGHT
from executor.store.db import make_engine
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tests.support.cli_in_process import in_process_baton
from tools import Effect, ToolContext, ToolRegistry

SECRET = "s3cret-token-value"
CAUSE = ("internal error in the executor: RuntimeError: the check broke on [REDACTED]; "
         "see the traceback in the log of the worker or command that ran it")


class BreakingCheck:
    """Allows every call but those of the steps in ``breaks_on``: their check raises (a bug in
    the check), its message holding a configured secret value. ``on_break`` runs first."""

    def __init__(self, *breaks_on: str, on_break: Callable[[], object] = lambda: None,
                 message: str = f"the check broke on {SECRET}") -> None:
        self.breaks_on = set(breaks_on)
        self.on_break = on_break
        self.message = message

    def check_step(self, call: StepCall) -> StepDecision:
        """Allow, or break."""
        if call.step_id in self.breaks_on:
            self.on_break()
            raise RuntimeError(self.message)
        return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)


def write() -> int:
    """Writes something."""
    return 1


def _registry() -> ToolRegistry:
    registry = ToolRegistry()
    registry.register_function(write, name="writer", effect=Effect.WRITE)
    return registry


ONE_WRITE = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "writer"}]})


def _assert_ended_failed(engine, runner, run_id: str) -> None:
    record = runner.store.get(run_id, detail=False)
    assert record.status is RunStatus.FAILED
    assert record.error == CAUSE
    assert record.owner is None and record.ended_at is not None
    ledger = Ledger(engine)
    end = ledger.events(subject=run_id)[-1]
    assert end.kind == "run_end"
    assert end.payload["status"] == "failed" and end.payload["error"] == CAUSE
    assert SECRET not in str(ledger.events(subject=run_id))
    assert ledger.verify().ok


def test_a_worker_ends_a_run_failed_on_an_internal_error_and_never_claims_it_again(engine,
                                                                                   tmp_path):
    runner = make_runner(engine, _registry(), tmp_path, runtime_check=BreakingCheck("a"),
                         secrets={"token": SECRET}, lease_s=0.01)
    run_id = runner.create_run(approved_plan(engine, ONE_WRITE), 1, ONE_WRITE,
                               requested_by="alice", detach=True)
    with capture_logs() as logs:
        assert runner.worker(once=True) == 1
    _assert_ended_failed(engine, runner, run_id)
    logged = [e for e in logs if e.get("run_id") == run_id and e["log_level"] == "error"]
    assert [e["event"] for e in logged] == ["run stopped on an internal error"]
    # Long past its lease: a failed run is not claimed again, its step never re-sent.
    assert runner.worker(once=True) == 0
    assert runner.store.get(run_id, detail=False).status is RunStatus.FAILED


def test_a_long_internal_error_is_cut_to_one_line_after_its_secrets_are_masked(engine, tmp_path):
    # The secret straddles the cut: cut first, its first characters would be left unmasked.
    check = BreakingCheck("a", message="x" * 280 + SECRET + "\nsecond line with more")
    runner = make_runner(engine, _registry(), tmp_path, runtime_check=check,
                         secrets={"token": SECRET})
    run_id = runner.create_run(approved_plan(engine, ONE_WRITE), 1, ONE_WRITE,
                               requested_by="alice")
    with pytest.raises(RuntimeError):
        runner.run_sync(run_id)
    error = runner.store.get(run_id, detail=False).error
    assert error == ("internal error in the executor: RuntimeError: " + "x" * 280 + "[REDAC…; "
                     "see the traceback in the log of the worker or command that ran it")


def test_a_run_ended_on_an_internal_error_resumes_its_in_flight_steps_with_the_same_keys(
        engine, tmp_path):
    """``slow`` is in flight when the check of ``post`` breaks, in the turn that settles
    ``quick``: that result is committed before the run ends (it is not called again), and
    ``slow`` ends interrupted."""
    registry = _registry()
    release = threading.Event()
    slow_called = threading.Event()
    calls: list[tuple[str, str]] = []

    @registry.tool("work")
    def work(context: ToolContext) -> int:
        """Works; step ``slow`` waits to be released on its first call, and ``quick`` returns
        only once ``slow`` was called: a call whose thread has not begun it when the run stops
        is never made (its job is abandoned), and under load that was ``slow``'s first."""
        calls.append((context.step_id, context.idempotency_key))
        if context.step_id == "slow" and context.attempt == 1:
            slow_called.set()
            release.wait(20)
        if context.step_id == "quick" and context.attempt == 1:
            slow_called.wait(20)
        return 2

    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "quick", "tool": "work"},
        {"id": "slow", "tool": "work"},
        {"id": "post", "tool": "writer", "depends_on": ["quick"]}]})
    check = BreakingCheck("post")
    runner = make_runner(engine, registry, tmp_path, runtime_check=check,
                         secrets={"token": SECRET})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    try:
        with pytest.raises(RuntimeError, match="the check broke"):  # a bug stays loud
            runner.run_sync(run_id)
    finally:
        release.set()
    _assert_ended_failed(engine, runner, run_id)
    steps = {s.step_id: s for s in runner.store.get(run_id).steps}
    assert steps["post"].status is StepStatus.PENDING and steps["post"].attempts == 0
    assert steps["quick"].status is StepStatus.SUCCEEDED
    in_flight = steps["slow"]
    assert in_flight.status is StepStatus.FAILED and in_flight.ended_at is not None
    assert in_flight.error == INTERNAL_ERROR_IN_FLIGHT
    assert [a.status for a in in_flight.attempt_log] == [AttemptStatus.INTERRUPTED]
    assert Ledger(engine).events(subject=run_id)[-1].payload["interrupted"] == ["slow"]

    check.breaks_on.clear()  # the bug is fixed
    resumed = runner.resume_sync(run_id)
    assert resumed.status is RunStatus.SUCCEEDED
    keys = {s.step_id: s.idempotency_key for s in resumed.steps}
    assert sorted(calls) == sorted([("quick", keys["quick"])] + [("slow", keys["slow"])] * 2)
    assert [a.status for a in resumed.steps[0].attempt_log] == [AttemptStatus.SUCCEEDED]
    assert [a.status for a in resumed.steps[1].attempt_log] == [AttemptStatus.INTERRUPTED,
                                                                AttemptStatus.SUCCEEDED]
    assert Ledger(engine).verify().ok


def test_an_internal_error_with_the_database_gone_is_logged_and_leaves_the_run_for_a_resume(
        engine, tmp_path):
    gone = tmp_path / "gone"
    dead = make_engine(f"sqlite:///{gone / 'baton.db'}")
    gone.rmdir()  # nothing can open that database
    runner = make_runner(engine, _registry(), tmp_path, secrets={"token": SECRET})
    check = runner.runtime_check = BreakingCheck(
        "a", on_break=lambda: setattr(runner.store, "engine", dead))
    run_id = runner.create_run(approved_plan(engine, ONE_WRITE), 1, ONE_WRITE,
                               requested_by="alice", detach=True)

    def database_back() -> bool:
        """The database is back by the time the worker looks for its next run."""
        runner.store.engine = engine
        return False

    with capture_logs() as logs:
        assert runner.worker(once=True, should_stop=database_back) == 1
    unrecorded = [e for e in logs
                  if e["event"] == "the run's end could not be recorded; left for a resume"]
    assert [e["run_id"] for e in unrecorded] == [run_id]
    assert unrecorded[0]["error"].startswith(f"the database failed while ending run {run_id}")
    left = runner.store.get(run_id, detail=False)
    assert left.status is RunStatus.RUNNING and left.owner == runner.owner_id

    check.breaks_on.clear()
    assert runner.resume_sync(run_id).status is RunStatus.SUCCEEDED
    assert Ledger(engine).verify().ok


CONFIG = """
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]
"""


def _one_error_line_and_the_traceback_logged(result, run_id: str) -> None:
    """Exit 1 (a failed run) with one line saying what happened and where the traceback went;
    the traceback itself is in the command's log on stderr, its secret masked."""
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: run {run_id} ended failed on an internal error in the executor; "
                      "its traceback is in this command's log (stderr); `baton resume "
                      f"{run_id}` runs its failed steps again once the bug is fixed"]
    assert "Traceback (most recent call last)" in result.stderr
    assert "run stopped on an internal error" in result.stderr
    assert SECRET not in result.stderr


def test_baton_run_and_resume_end_a_run_failed_on_an_internal_error(data_dir, capsys,
                                                                    monkeypatch):
    """The foreground run and a resume end the run as a worker does: exit 1 with one line,
    the traceback logged, never raised out of the command."""
    from baton.usecases.runs import PolicyRuntimeCheck

    (data_dir / "baton.toml").write_text(CONFIG + f'\n[secrets]\ntoken = "{SECRET}"\n')
    (data_dir / "ws").mkdir()
    (data_dir / "plan.json").write_text(json.dumps({"goal": "write a note", "steps": [
        {"id": "save", "tool": "files.write", "args": {"path": "b.txt", "text": "hi"}}]}))

    def broken(self, call: StepCall) -> StepDecision:
        raise RuntimeError(f"the check broke on {SECRET}")

    with in_process_baton(capsys) as baton:
        planned = baton("--as", "alice", "plan", "--file", "plan.json", "--json")
        plan_id = json.loads(planned.stdout)["plan_id"]
        assert baton("--as", "bob", "approve", plan_id).returncode == 0
        with monkeypatch.context() as patch:
            patch.setattr(PolicyRuntimeCheck, "check_step", broken)
            ran = baton("--as", "alice", "run", plan_id, "--json")
            (run,) = json.loads(baton("--as", "alice", "runs", "list", "--json").stdout)
            _one_error_line_and_the_traceback_logged(ran, run["id"])
            assert run["status"] == "failed"
            assert run["error"].startswith("internal error in the executor: RuntimeError: "
                                           "the check broke on [REDACTED]; ")
            _one_error_line_and_the_traceback_logged(
                baton("--as", "alice", "resume", run["id"]), run["id"])
            (again,) = json.loads(baton("--as", "alice", "runs", "list", "--json").stdout)
            assert again["status"] == "failed" and again["error"] == run["error"]
        resumed = baton("--as", "alice", "resume", run["id"], "--json")
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout)["status"] == "succeeded"
        assert (data_dir / "ws" / "b.txt").read_text() == "hi"
        assert baton("audit", "verify").returncode == 0


def test_baton_resume_says_a_run_an_internal_error_stopped_before_it_ran_was_left_as_it_was(
        data_dir, capsys, monkeypatch):
    """A bug before the resumed run goes on (taking it over) ends nothing: the line says the
    run was left as it was, not that it ended, and the traceback is logged all the same."""
    from executor.runner import Runner

    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    (data_dir / "plan.json").write_text(json.dumps({"goal": "read a note", "steps": [
        {"id": "read", "tool": "files.read", "args": {"path": "missing.txt"}}]}))

    def broken(self, run_id: str, *, actor: str = "executor") -> None:
        raise RuntimeError("the take-over broke")

    with in_process_baton(capsys) as baton:
        planned = baton("--as", "alice", "plan", "--file", "plan.json", "--json")
        plan_id = json.loads(planned.stdout)["plan_id"]
        ran = json.loads(baton("--as", "alice", "run", plan_id, "--json").stdout)
        assert ran["status"] == "failed"  # the file is missing
        monkeypatch.setattr(Runner, "take_over", broken)
        resumed = baton("--as", "alice", "resume", ran["id"])
    assert resumed.returncode == 1
    assert [line for line in resumed.stderr.splitlines() if line.startswith("error:")] == [
        f"error: run {ran['id']} stopped on an internal error in the executor and was left "
        "failed; its traceback is in this command's log (stderr); `baton resume "
        f"{ran['id']}` finishes it once the bug is fixed"]
    assert "RuntimeError: the take-over broke" in resumed.stderr
