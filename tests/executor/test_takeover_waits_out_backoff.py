"""A retry whose owner died while it waited out its backoff (a server's Retry-After, or the
policy's) is not called at once by whoever takes the run over: the takeover waits what is left
of the recorded wait, then calls with the same idempotency key; a wait already over calls at
once. Both ways of taking over: ``baton resume`` (``Runner.resume_sync``) and a worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from executor.store import attempt_log
from executor.store.schema import RunRow, StepRunRow
from planner.plan import Plan
from tests.executor.runsupport import HostCheck, Sleeps, approved_plan, make_runner
from tests.support.http_server import RecordingHTTPServer, Reply
from tools import RetryableToolError, RetryPolicy, ToolContext, ToolRegistry
from tools.builtin.http import register_http_request

ROOT = Path(__file__).resolve().parents[2]
RETRY_AFTER_S = 2
# The loop sleeps by the monotonic clock; the times compared are the wall clock's, which may
# be slewed by a millisecond or so over the wait.
CLOCKS_DRIFT = timedelta(milliseconds=50)


class TimedServer(RecordingHTTPServer):
    """The suite's recording server, noting when each request arrived (by the wall clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[datetime] = []

    def _reply_for(self, request):
        self.arrived.append(datetime.now(UTC))
        return super()._reply_for(request)


@pytest.fixture
def timed_server():
    server = TimedServer().start()
    try:
        yield server
    finally:
        server.close()


def _http_runner(engine, data_dir: Path, server, **options):
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    return make_runner(engine, registry, data_dir, runtime_check=HostCheck(server.base_url),
                       **options)


def _killed_in_backoff(engine, db_url: str, data_dir: Path, server) -> str:
    """A run whose owner (a child process) got a 503 with Retry-After, journalled the retry
    and was killed while it waited: its run id."""
    server.script("/busy", Reply(status=503, headers={"Retry-After": str(RETRY_AFTER_S)}),
                  Reply(body={"ok": True}))
    plan = Plan.model_validate({"goal": "g", "steps": [{
        "id": "a", "tool": "http.request", "args": {"method": "GET", "url": server.url("/busy")},
        "retry": {"max_attempts": 5, "initial_backoff_s": 0.1, "max_backoff_s": 30,
                  "jitter": 0}}]})
    run_id = make_runner(engine, ToolRegistry(), data_dir).create_run(
        approved_plan(engine, plan), 1, plan, requested_by="alice", detach=True)
    child = subprocess.run(
        [sys.executable, "-m", "tests.executor.backoff_kill_child", db_url, str(data_dir),
         server.base_url, run_id], env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT,
        capture_output=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    return run_id


@pytest.mark.parametrize("how", ["resume", "worker"])
def test_a_takeover_waits_out_the_retry_after_its_dead_owner_was_waiting(
        engine, db_url, tmp_path, timed_server, how):
    run_id = _killed_in_backoff(engine, db_url, tmp_path, timed_server)
    runner = _http_runner(engine, tmp_path, timed_server)
    if how == "resume":
        record = runner.resume_sync(run_id)
    else:  # the lease ran out
        with Session(engine) as s:
            s.execute(update(RunRow).where(RunRow.id == run_id).values(
                lease_expires_at=datetime.now(UTC) - timedelta(minutes=1)))
            s.commit()
        assert runner.worker(once=True) == 1
        record = runner.store.get(run_id)

    assert record.status is RunStatus.SUCCEEDED
    (step,) = record.steps
    assert [a.status for a in step.attempt_log] == [
        AttemptStatus.FAILED, AttemptStatus.INTERRUPTED, AttemptStatus.SUCCEEDED]
    waited = runner.store.snapshot(run_id).steps[0].attempt_log[1]
    assert waited["backoff_s"] == RETRY_AFTER_S and "called" not in waited
    first, second = timed_server.requests("/busy")
    assert first.idempotency_key == second.idempotency_key == step.idempotency_key
    wait_over = datetime.fromisoformat(waited["started_at"]) + timedelta(seconds=RETRY_AFTER_S)
    assert timed_server.arrived[1] >= wait_over - CLOCKS_DRIFT
    # Checked by the runtime policy as a retry with a backoff is: when its wait is over.
    kinds = [e.kind for e in Ledger(engine).events(subject=run_id)]
    assert kinds[kinds.index("run_resume"):] == [
        "run_resume", "attempt_start", "step_check", "attempt_success", "run_end"]


# -- the wait left, with a recorded log (no real time is waited) ---------------------------


def _registry(calls: list[int]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("svc.fetch", retry=RetryPolicy(max_attempts=3, initial_backoff_s=5,
                                                  max_backoff_s=600, jitter=0))
    def fetch(context: ToolContext) -> str:
        """Down once, then up."""
        calls.append(context.attempt)
        if context.attempt == 1:
            raise RetryableToolError("down")
        return "fetched"

    return registry


def _resumed_after_wait_began(engine, tmp_path, began: datetime, backoff_s: float):
    """Resume a one-step run whose dead owner journalled a retry waiting ``backoff_s`` from
    ``began``: the sleeps the takeover made, the calls, the run's record."""
    calls: list[int] = []
    sleeps = Sleeps()
    runner = make_runner(engine, _registry(calls), tmp_path, sleep=sleeps)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "svc.fetch"}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    at = began.isoformat()
    log = [{"attempt": 1, "status": "failed", "started_at": at, "ended_at": at, "error": "down",
            "retryable": True},
           {"attempt": 2, "status": "started", "started_at": at, "backoff_s": backoff_s}]
    with Session(engine) as s:
        s.execute(update(StepRunRow).where(StepRunRow.run_id == run_id, StepRunRow.step_id == "a")
                  .values(attempt_log=attempt_log.dumps(log), attempts=2, status="running"))
        s.execute(update(RunRow).where(RunRow.id == run_id).values(
            owner="gone-host:1:x", status="running", started_at=began,
            lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    record = runner.resume_sync(run_id)
    return sleeps.delays, calls, record, runner.store.snapshot(run_id).steps[0].attempt_log


def test_the_takeover_sleeps_only_what_is_left_of_the_wait(engine, tmp_path):
    began = datetime.now(UTC) - timedelta(seconds=100)
    delays, calls, record, log = _resumed_after_wait_began(engine, tmp_path, began, 600)
    (delay,) = delays
    assert 0 < delay <= 500
    assert calls == [3] and record.status is RunStatus.SUCCEEDED
    # Journalled as the wait it makes: a takeover of this takeover waits what is left of it.
    assert log[2]["backoff_s"] == pytest.approx(delay, abs=1e-5) and log[2]["called"] is True
    (start,) = [e for e in Ledger(engine).events(subject=record.id, kinds=["attempt_start"])
                if e.payload["attempt"] == 3]
    assert start.payload["delay_s"] == pytest.approx(delay, abs=1e-5)


def test_a_wait_already_over_calls_at_once(engine, tmp_path):
    began = datetime.now(UTC) - timedelta(hours=1)
    delays, calls, record, log = _resumed_after_wait_began(engine, tmp_path, began, 5)
    assert delays == [] and calls == [3] and record.status is RunStatus.SUCCEEDED
    assert "backoff_s" not in log[2]


def test_a_wait_stamped_by_a_clock_ahead_is_never_longer_than_the_whole_wait(engine, tmp_path):
    # The dead owner's machine ran an hour ahead: the takeover still waits at most backoff_s.
    began = datetime.now(UTC) + timedelta(hours=1)
    delays, calls, record, _ = _resumed_after_wait_began(engine, tmp_path, began, 5)
    assert delays == [5] and calls == [3] and record.status is RunStatus.SUCCEEDED
