"""``baton run|resume|runs|cancel|worker`` end to end through the approval gate.

The CLI runs in-process (a subprocess costs about a second of start-up and imports, more on a
loaded machine); a run killed midway is a real ``python -m baton`` process, killed by the
crash point, so the entry point and a process dying under a run stay covered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli_in_process import in_process_baton

CONFIG = """
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]
"""
COPY_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "b.csv", "text": {"ref": "load.text"}}}]}
ENV = {"COLUMNS": "200"}

Baton = Callable[..., subprocess.CompletedProcess[str]]


def baton_killed_at(crash_at: str, *args: str, user: str = "alice"):
    """``baton *args`` in its own process, killed at the crash point ``crash_at``."""
    env = {**os.environ, **ENV, "BATON_USER": user,
           "BATON_ALLOW_CRASH_POINTS": "1", "BATON_CRASH_AT": crash_at}
    return subprocess.run([sys.executable, "-m", "baton", *args], capture_output=True, text=True,
                          timeout=120, check=False, env=env)


@pytest.fixture
def baton(data_dir: Path, capsys) -> Iterator[Baton]:
    """``baton(*args, user="alice")``: what a ``baton`` process would give, run in-process."""
    with in_process_baton(capsys) as run:
        def as_user(*args: str, user: str = "alice") -> subprocess.CompletedProcess[str]:
            return run(*args, env={**ENV, "BATON_USER": user})

        yield as_user


@pytest.fixture
def approved(data_dir: Path, baton: Baton) -> str:
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    (data_dir / "ws" / "a.csv").write_text("region,total\nnorth,3\n")
    (data_dir / "copy.json").write_text(json.dumps(COPY_PLAN))
    planned = baton("plan", "--file", "copy.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    assert baton("approve", plan_id, user="bob").returncode == 0
    return plan_id


def _runs(baton: Baton) -> list[dict]:
    listed = baton("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def test_an_approved_plan_runs_and_shows_its_steps(approved, data_dir, baton):
    done = baton("run", approved, "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "succeeded"
    assert (data_dir / "ws" / "b.csv").read_text() == "region,total\nnorth,3\n"
    shown = baton("runs", "show", record["id"])
    assert shown.returncode == 0 and "save" in shown.stdout and "succeeded" in shown.stdout
    assert [r["run_id"] for r in _runs(baton)] == [record["id"]] == [record["run_id"]]


def test_an_unapproved_plan_does_not_run(data_dir, baton):
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "copy.json").write_text(json.dumps(COPY_PLAN))
    plan_id = json.loads(baton("plan", "--file", "copy.json", "--json").stdout)["plan_id"]
    refused = baton("run", plan_id)
    assert refused.returncode == 1 and "not approved" in refused.stderr.replace("\n", " ")
    assert _runs(baton) == []


def test_a_killed_run_resumes_from_the_cli_without_repeating_a_finished_step(
        approved, data_dir, baton):
    killed = baton_killed_at("after_tool_returned:save", "run", approved)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (run,) = _runs(baton)
    assert run["status"] == "running"
    resumed = baton("resume", run["id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    steps = {s["step_id"]: s for s in json.loads(resumed.stdout)["steps"]}
    assert steps["load"]["attempts"] == 1
    assert [a["status"] for a in steps["save"]["attempt_log"]] == ["interrupted", "succeeded"]
    assert baton("audit", "verify").returncode == 0


def test_cancelling_a_killed_run_ends_it_cancelled_and_records_who_asked(approved, baton):
    killed = baton_killed_at("after_tool_returned:save", "run", approved)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (run,) = _runs(baton)
    cancelled = baton("cancel", run["id"])
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"cancel requested for {run['id']} (now cancelled)" in cancelled.stdout
    shown = json.loads(baton("runs", "show", run["id"], "--json").stdout)
    assert shown["status"] == "cancelled" and shown["owner"] is None
    # The run is final: the step killed in flight ends (failed, with an end), never "pending".
    assert [s["status"] for s in shown["steps"]] == ["succeeded", "failed"]
    assert shown["steps"][1]["ended_at"] is not None
    assert shown["steps"][1]["error"].endswith("not tried again: the run was cancelled")
    audit = baton("audit", "show", "--subject", run["id"], "--json")
    events = [(e["kind"], e["actor"]) for e in json.loads(audit.stdout)]
    assert events[-3:] == [("cancel_request", "alice"), ("run_cancel", "alice"),
                           ("run_end", "alice")]
    assert baton("audit", "verify").returncode == 0


def test_detached_runs_wait_for_a_worker(approved, baton):
    queued = baton("run", approved, "--detach")
    assert queued.returncode == 0, queued.stderr
    run_id = queued.stdout.strip()
    assert [r["status"] for r in _runs(baton)] == ["queued"]
    worked = baton("worker", "--once")
    assert worked.returncode == 0, worked.stderr
    assert json.loads(baton("runs", "show", run_id, "--json").stdout)["status"] == "succeeded"
    # Like `baton serve`, the worker logs JSON lines at info.
    events = [json.loads(line)["event"] for line in worked.stderr.splitlines() if line.strip()]
    assert "worker claimed run" in events


def test_cancelling_a_queued_run_ends_it_and_a_finished_run_cannot_be_cancelled(
        approved, baton):
    run_id = baton("run", approved, "--detach").stdout.strip()
    cancelled = baton("cancel", run_id, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    again = baton("cancel", run_id)
    assert again.returncode == 1 and "already cancelled" in again.stderr
    missing = baton("resume", "r-nope")
    assert missing.returncode == 1 and "no run" in missing.stderr
