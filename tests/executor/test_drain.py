"""A worker's drain (its process shutting down): no run claimed, no step or retry started,
the calls made given a grace, the rest left for another worker, its lease given back.

Synchronised on events the tools set, never on durations.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from sqlalchemy import text
from structlog.testing import capture_logs

from executor.checks import StepDecision
from executor.draining import Drain
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, no_wait
from tools import Effect, RetryableToolError, ToolContext, ToolRegistry

PLAN = Plan.model_validate({"goal": "read, write, read", "steps": [
    {"id": "a", "tool": "t.read", "args": {"label": "hold"}},
    {"id": "b", "tool": "t.write", "args": {"label": {"ref": "a.value"}}},
    {"id": "c", "tool": "t.read", "args": {"label": "last"}, "depends_on": ["b"]},
]})


class AllowAll:
    """A runtime check that allows every call (the write step needs one)."""

    def check_step(self, call: Any) -> StepDecision:
        """Allow."""
        return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)


class Tools:
    """``t.read`` (held at label "hold" until released) and ``t.write``, counting calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.registry = ToolRegistry()

        @self.registry.tool("t.read", effect=Effect.READ, idempotent=True, timeout_s=60)
        def read(label: str, context: ToolContext) -> str:
            """Answer the label (held first when it is "hold").

            Args:
                label: What to answer.
            """
            self.calls.append((context.step_id, context.attempt))
            if label == "hold":
                self.started.set()
                assert self.release.wait(60)
            return label

        @self.registry.tool("t.write", effect=Effect.WRITE, idempotent=False, timeout_s=60)
        def write(label: str, context: ToolContext) -> str:
            """Write the label somewhere (not idempotent).

            Args:
                label: What to write.
            """
            self.calls.append((context.step_id, context.attempt))
            return label


def _runner(engine, tools: Tools, tmp_path, **options: Any):
    return make_runner(engine, tools.registry, tmp_path, runtime_check=AllowAll(), **options)


def _queued(engine, tools: Tools, tmp_path) -> str:
    plan_id = approved_plan(engine, PLAN)
    return _runner(engine, tools, tmp_path).create_run(plan_id, 1, PLAN, requested_by="alice",
                                                       detach=True)


def _work_in_thread(runner, drain: Drain) -> tuple[threading.Thread, list[int]]:
    counted: list[int] = []
    thread = threading.Thread(target=lambda: counted.append(runner.worker(once=True,
                                                                         drain=drain)))
    thread.start()
    return thread, counted


def _run(engine, run_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, owner FROM runs WHERE id = :id"),
                           {"id": run_id}).one()
        steps = dict(conn.execute(text("SELECT step_id, status FROM run_steps WHERE run_id = :id"),
                                  {"id": run_id}).all())
        logs = dict(conn.execute(text("SELECT step_id, attempt_log FROM run_steps "
                                      "WHERE run_id = :id"), {"id": run_id}).all())
    return {"status": row[0], "owner": row[1], "steps": steps,
            "logs": {sid: json.loads(log) if log else [] for sid, log in logs.items()}}


def test_a_drained_worker_starts_no_new_step_and_another_finishes_the_run(engine, tmp_path):
    tools = Tools()
    run_id = _queued(engine, tools, tmp_path)
    drain = Drain(grace_s=60)
    thread, counted = _work_in_thread(_runner(engine, tools, tmp_path), drain)
    assert tools.started.wait(30)
    with capture_logs() as logs:
        drain.request()  # as SIGTERM does, while step a runs
        tools.release.set()
        thread.join(60)
    assert counted == [0]  # left, not ended
    assert tools.calls == [("a", 1)]  # the write b never started
    left = _run(engine, run_id)
    assert left["steps"] == {"a": "succeeded", "b": "pending", "c": "pending"}
    assert left["status"] == "running"
    [warning] = [e for e in logs if e["event"] == "run left unfinished: shutting down"]
    assert warning["run_id"] == run_id and warning["in_flight"] == []
    assert f"baton resume {run_id}" in warning["finish"]

    # Its lease was given back: another worker claims it now, not once the lease ends.
    other = _runner(engine, tools, tmp_path, lease_s=3600)
    assert other.worker(once=True) == 1
    assert tools.calls == [("a", 1), ("b", 1), ("c", 1)]
    assert _run(engine, run_id)["status"] == "succeeded"


def test_a_call_still_running_after_the_grace_is_left_in_flight_for_a_takeover(engine,
                                                                                tmp_path):
    tools = Tools()
    run_id = _queued(engine, tools, tmp_path)
    drain = Drain(grace_s=0)
    thread, counted = _work_in_thread(_runner(engine, tools, tmp_path), drain)
    assert tools.started.wait(30)
    with capture_logs() as logs:
        drain.request()
        thread.join(60)
    assert counted == [0]
    left = _run(engine, run_id)
    assert left["steps"]["a"] == "running" and left["status"] == "running"
    [warning] = [e for e in logs if e["event"] == "run left unfinished: shutting down"]
    assert warning["in_flight"] == ["a"]
    tools.release.set()  # the abandoned call ends; its result is not the run's any more

    assert _runner(engine, tools, tmp_path).worker(once=True) == 1
    # a read is idempotent: called again with the same key, then b and c, once each
    assert sorted(tools.calls) == [("a", 1), ("a", 2), ("b", 1), ("c", 1)]
    assert _run(engine, run_id)["status"] == "succeeded"


def test_a_retry_waiting_out_its_backoff_is_not_called_and_its_taker_calls_it(engine,
                                                                              tmp_path):
    calls: list[int] = []
    registry = ToolRegistry()

    @registry.tool("t.flaky", effect=Effect.READ, idempotent=True,
                   retry={"max_attempts": 3, "initial_backoff_s": 0.01})
    def flaky(context: ToolContext) -> int:
        """Fail the first attempt, retryably."""
        calls.append(context.attempt)
        if context.attempt == 1:
            raise RetryableToolError("busy")
        return context.attempt

    waiting = threading.Event()

    async def endless_backoff(_delay: float) -> None:
        import asyncio

        waiting.set()
        await asyncio.sleep(3600)

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "t.flaky"}]})
    first = make_runner(engine, registry, tmp_path, sleep=endless_backoff)
    run_id = first.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                              detach=True)
    drain = Drain(grace_s=60)
    thread, counted = _work_in_thread(first, drain)
    assert waiting.wait(30)
    drain.request()
    thread.join(60)
    assert counted == [0] and calls == [1]
    attempts = _run(engine, run_id)["logs"]["a"]
    assert [a["status"] for a in attempts] == ["failed", "started"]
    assert "called" not in attempts[-1]  # journalled as never called

    taker = make_runner(engine, registry, tmp_path, sleep=no_wait)
    assert taker.worker(once=True) == 1
    assert calls == [1, 3]  # the retry, once (attempt 2 was never called)
    assert _run(engine, run_id)["status"] == "succeeded"


def test_a_drain_requested_before_a_claim_claims_nothing(engine, tmp_path):
    tools = Tools()
    run_id = _queued(engine, tools, tmp_path)
    drain = Drain()
    drain.request()
    assert _runner(engine, tools, tmp_path).worker(once=True, drain=drain) == 0
    row = _run(engine, run_id)
    assert row["status"] == "queued" and row["owner"] is None
    assert tools.calls == []


def test_on_seen_is_told_once_and_its_failure_does_not_stop_the_run(engine, tmp_path):
    tools = Tools()
    run_id = _queued(engine, tools, tmp_path)
    told: list[tuple[str, tuple[str, ...]]] = []

    def on_seen(seen_run: str, in_flight: tuple[str, ...], grace_left_s: float) -> None:
        told.append((seen_run, in_flight))
        assert 0 < grace_left_s <= 60
        raise OSError("stderr closed")  # the CLI's line could not be written

    drain = Drain(grace_s=60, on_seen=on_seen)
    thread, counted = _work_in_thread(_runner(engine, tools, tmp_path), drain)
    assert tools.started.wait(30)
    with capture_logs() as logs:
        drain.request()
        deadline = time.monotonic() + 60  # a bound on a hang, nothing timed
        while not any(e["event"] == "telling the drain was seen failed" for e in logs):
            assert time.monotonic() < deadline
            thread.join(0.01)  # once the loop has seen it, a (in flight) may end
        tools.release.set()
        thread.join(60)
    assert told == [(run_id, ("a",))]
    assert counted == [0]  # left as any drain leaves it, a's result recorded
    assert _run(engine, run_id)["steps"] == {"a": "succeeded", "b": "pending", "c": "pending"}
