"""Kill a run with SIGKILL at named points, resume it, and count side effects on a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from planner.plan import Plan
from tests.executor.runsupport import HostCheck, approved_plan, make_runner
from tools import ToolRegistry
from tools.builtin.http import register_http_request

ROOT = Path(__file__).resolve().parents[2]


def chain(server) -> Plan:
    return Plan.model_validate({"goal": "crash", "steps": [
        {"id": sid, "tool": "http.request", "depends_on": [prev] if prev else [],
         "args": {"method": "POST", "url": server.url(f"/{sid}"), "json": {"step": sid}}}
        for sid, prev in (("a", None), ("b", "a"), ("c", "b"))]})


def run_child(db_url: str, data_dir: Path, server, run_id: str, crash_at: str | None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if crash_at:
        env.update(BATON_ALLOW_CRASH_POINTS="1", BATON_CRASH_AT=crash_at)
    return subprocess.run(
        [sys.executable, "-m", "tests.executor.crash_child", db_url, str(data_dir),
         server.base_url, run_id], env=env, cwd=ROOT, capture_output=True, timeout=120)


def resume_here(engine, data_dir, server, run_id):
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    runner = make_runner(engine, registry, data_dir, runtime_check=HostCheck(server.base_url))
    return runner.resume_sync(run_id)


@pytest.fixture
def queued_run(engine, db_url, tmp_path, http_server):
    plan = chain(http_server)
    runner = make_runner(engine, ToolRegistry(), tmp_path)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice", detach=True)
    return run_id


@pytest.mark.parametrize("point, b_requests, b_attempts", [
    ("after_attempt_started", 1, [AttemptStatus.INTERRUPTED, AttemptStatus.SUCCEEDED]),
    ("after_tool_returned", 2, [AttemptStatus.INTERRUPTED, AttemptStatus.SUCCEEDED]),
    ("between_steps", 1, [AttemptStatus.SUCCEEDED]),
])
def test_a_killed_run_resumes_without_repeating_finished_steps(
        engine, db_url, tmp_path, http_server, queued_run, point, b_requests, b_attempts):
    child = run_child(db_url, tmp_path, http_server, queued_run, f"{point}:b")
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]

    record = resume_here(engine, tmp_path, http_server, queued_run)

    assert record.status is RunStatus.SUCCEEDED
    assert http_server.count("/a") == 1 and http_server.count("/c") == 1
    assert http_server.count("/b") == b_requests
    assert len(http_server.effects("/b")) == 1
    a, b, c = record.steps
    assert {r.idempotency_key for r in http_server.requests("/b")} == {b.idempotency_key}
    assert [x.status for x in b.attempt_log] == b_attempts
    assert [x.attempts for x in (a, c)] == [1, 1]
    assert Ledger(engine).verify().ok
    (resume,) = Ledger(engine).events(subject=queued_run, kinds=["run_resume"])
    assert resume.payload["interrupted"] == ([] if point == "between_steps" else ["b"])


def test_resume_through_the_cli_refuses_a_run_whose_owner_is_alive(
        engine, db_url, tmp_path, http_server, queued_run):
    # The child's own claim is live while it runs; once killed its pid is dead.
    child = run_child(db_url, tmp_path, http_server, queued_run, "after_attempt_started:a")
    assert child.returncode == -signal.SIGKILL
    record = resume_here(engine, tmp_path, http_server, queued_run)
    assert record.status is RunStatus.SUCCEEDED
    assert len(http_server.effects("/a")) == 1
