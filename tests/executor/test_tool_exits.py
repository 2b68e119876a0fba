"""A tool that raises SystemExit or KeyboardInterrupt fails its attempt; a real Ctrl-C still stops.

A library calling ``sys.exit()`` inside an ``async def`` tool used to escape
asyncio's task and the runner, killing ``baton run`` or ``baton worker`` and
leaving the run ``running``. It is the tool's failure (``tool_crashed``), as it
already was for sync tools; a SIGINT the process receives is still a Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from executor.calls import call_tool, error_code, error_text
from executor.records import RunStatus
from executor.scheduling import StepStatus
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, run_plan
from tools import ToolContext, ToolRegistry

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = ToolContext(idempotency_key="k-1", run_id="r-1", step_id="s-1", attempt=1)
EXITS = [SystemExit(3), KeyboardInterrupt("from the tool")]


def exiting_registry(kind: str, exc: BaseException) -> ToolRegistry:
    registry = ToolRegistry()
    if kind == "sync":
        @registry.tool("x.exit")
        def exit_now() -> int:
            """Raise a BaseException."""
            raise exc
    else:
        @registry.tool("x.exit")
        async def exit_now() -> int:
            """Raise a BaseException."""
            raise exc

    @registry.tool("x.ok")
    async def ok() -> int:
        """Fine."""
        return 1

    return registry


@pytest.mark.parametrize("exc", EXITS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_tool_raising_system_exit_or_keyboard_interrupt_fails_its_attempt(kind, exc):
    outcome = asyncio.run(call_tool(exiting_registry(kind, exc).get("x.exit"), {}, CONTEXT,
                                    timeout_s=5))
    assert outcome.error is exc
    assert error_code(outcome.error) == "tool_crashed"
    assert error_text(outcome.error) == f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_tool_raising_stop_iteration_fails_at_once_as_a_crash(kind):
    # next() on an empty iterator in a sync tool: asyncio refused StopIteration as the
    # result's exception, the result never came, and the call waited out its timeout to be
    # recorded as one (a write then refused as "may still have its effect").
    started = time.monotonic()
    outcome = asyncio.run(call_tool(exiting_registry(kind, StopIteration()).get("x.exit"), {},
                                    CONTEXT, timeout_s=5))
    assert time.monotonic() - started < 4
    assert isinstance(outcome.error, RuntimeError)
    assert isinstance(outcome.error.__cause__, StopIteration)
    assert error_code(outcome.error) == "tool_crashed"
    assert "raised StopIteration" in error_text(outcome.error)


@pytest.mark.parametrize("exc", EXITS, ids=lambda e: type(e).__name__)
def test_an_async_tool_raising_system_exit_ends_its_run_failed(engine, tmp_path, exc):
    runner = make_runner(engine, exiting_registry("async", exc), tmp_path)
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "a", "tool": "x.exit"}, {"id": "b", "tool": "x.ok", "depends_on": ["a"]}]})
    assert record.status is RunStatus.FAILED
    assert record.error == f"step a failed: {type(exc).__name__}: {exc}"
    assert [s.status for s in record.steps] == [StepStatus.FAILED, StepStatus.PENDING]
    assert record.steps[0].attempts == 1  # tool_crashed is not retried


def test_a_worker_goes_on_after_an_async_tool_called_sys_exit(engine, tmp_path):
    runner = make_runner(engine, exiting_registry("async", SystemExit(3)), tmp_path)
    ids = []
    for tool in ("x.exit", "x.ok"):
        plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": tool}]})
        ids.append(runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                                     detach=True))
    assert runner.worker(once=True) == 2
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, status FROM runs")).fetchall())
    assert [rows[i] for i in ids] == ["failed", "succeeded"]


@pytest.mark.parametrize("mode", ["spin", "sleep"])
def test_ctrl_c_still_stops_a_worker_whose_async_tool_is_running(engine, db_url, tmp_path, mode):
    """SIGINT while the tool runs: in its own frame (spinning) or in the loop (sleeping)."""
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "x.busy"}]})
    runner = make_runner(engine, ToolRegistry(), tmp_path)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.executor.interrupt_child", db_url, str(tmp_path),
         str(ready), mode], env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), child.communicate(timeout=10)
        time.sleep(0.2)  # into the spin (or the sleep)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # Stopped by the interrupt (Python exits by SIGINT, or 1 when something reports it).
    assert child.returncode in (-signal.SIGINT, 1, 130), err.decode()[-2000:]
    assert b"KeyboardInterrupt" in err and b"worker returned" not in out
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM runs WHERE id = :id"), {"id": run_id}).scalar()
    assert status == "running"  # stopped, not failed: `baton resume` takes it over
