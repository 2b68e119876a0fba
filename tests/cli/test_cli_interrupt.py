"""Ctrl-C twice during ``baton run`` or ``baton resume`` stops it at once and names the run it
leaves, for ``baton resume`` (the first Ctrl-C drains the run: ``test_run_sigterm_drain``).

The signals are real SIGINTs sent to a real ``python -m baton`` while an async tool spins in
Python code (so the run's loop never sees the drain the first asks for, and the second's
interrupt lands inside the tool's own task, the case where asyncio used to log "Task
exception was never retrieved" and a long traceback).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tools.test_registry import make_distribution, site_dir  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
TOOL = '''
    """A tool package whose async tool spins in Python code until a release file appears."""
    import time
    from pathlib import Path

    from tools import Effect, ToolContext, ToolRegistry


    def register(registry: ToolRegistry) -> None:
        # Analysts may use crm.*; each Ctrl-C interrupts an attempt: room for the last resume's.
        @registry.tool("crm.spin", effect=Effect.READ, timeout_s=60, retry={"max_attempts": 5})
        async def spin(ready: str, release: str, context: ToolContext) -> int:
            """Say it runs, then spin (no await) until released.

            Args:
                ready: File written once the tool runs.
                release: File whose existence ends the spin.
            """
            Path(ready).write_text("ready")
            deadline = time.monotonic() + 60
            turns = 0
            while not Path(release).exists() and time.monotonic() < deadline:
                turns += 1
            return turns
'''


@pytest.fixture
def spin_tool(site_dir) -> Path:  # noqa: F811 - the fixture imported above
    """An installed package (dist-info with a ``baton.tools`` entry point) shipping ``crm.spin``."""
    make_distribution(site_dir, "crm", TOOL)
    return site_dir


@pytest.fixture
def spin_plan(cli, data_dir, spin_tool) -> str:
    """An approved plan whose one step spins until ``release`` exists."""
    plan = {"goal": "spin", "steps": [{"id": "spin", "tool": "crm.spin", "args": {
        "ready": str(data_dir / "ready"), "release": str(data_dir / "release")}}]}
    (data_dir / "spin.json").write_text(json.dumps(plan))
    planned = cli("--as", "alice", "plan", "--file", "spin.json", "--json")
    assert planned.returncode == 0, planned.stderr
    body = json.loads(planned.stdout)
    if body["status"] != "approved":
        approved = cli("--as", "bob", "approve", body["plan_id"])
        assert approved.returncode == 0, approved.stderr
    return body["plan_id"]


def baton(data_dir: Path, site: Path, *args: str) -> subprocess.Popen[str]:
    """A real ``python -m baton`` in the workspace, its output piped (as a script would)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    return subprocess.Popen([sys.executable, "-m", "baton", "--as", "alice", *args], cwd=data_dir,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupted(data_dir: Path, site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Start ``baton ARGS``, send SIGINT twice once its tool spins, and wait for it to end."""
    ready = data_dir / "ready"
    ready.unlink(missing_ok=True)
    child = baton(data_dir, site, *args)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), child.communicate(timeout=10)
        time.sleep(0.2)  # into the spin
        child.send_signal(signal.SIGINT)  # a drain, which the spinning tool holds up
        time.sleep(0.2)  # handled: two signals at once would be delivered as one
        child.send_signal(signal.SIGINT)  # stop at once
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def assert_left_for_resume(ended: subprocess.CompletedProcess[str], run_id: str) -> None:
    assert ended.returncode == 130, ended.stderr
    assert ended.stderr.strip().splitlines()[-1] == (
        f"interrupted: run {run_id} left running; finish it with `baton resume {run_id}`")
    assert "Traceback" not in ended.stderr and "never retrieved" not in ended.stderr, ended.stderr


def test_ctrl_c_names_the_run_it_leaves_and_resume_finishes_it(cli, data_dir, spin_tool, spin_plan):
    ran = interrupted(data_dir, spin_tool, "run", spin_plan)
    listed = cli("--as", "alice", "runs", "list", "--json")
    [run] = json.loads(listed.stdout)
    assert run["status"] == "running"
    assert_left_for_resume(ran, run["id"])

    # Interrupted again while resuming (scripted: --json), it says the same.
    resumed = interrupted(data_dir, spin_tool, "resume", run["id"], "--json")
    assert_left_for_resume(resumed, run["id"])

    (data_dir / "release").write_text("go")
    finished = baton(data_dir, spin_tool, "resume", run["id"], "--json")
    out, err = finished.communicate(timeout=60)
    assert finished.returncode == 0, err
    assert json.loads(out)["status"] == "succeeded"


def test_ctrl_c_with_json_output_names_the_run_too(cli, data_dir, spin_tool, spin_plan):
    ran = interrupted(data_dir, spin_tool, "run", spin_plan, "--json")
    [run] = json.loads(cli("--as", "alice", "runs", "list", "--json").stdout)
    assert_left_for_resume(ran, run["id"])
    assert ran.stdout == ""  # nothing a script would mistake for the run's record
