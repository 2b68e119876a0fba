"""A tool that leaves a thread running does not keep ``baton run`` or ``baton worker --once``
from exiting once the run is recorded and its result printed.

Python joins every non-daemon thread before it exits: a custom tool that starts one and
returns (or an async tool whose ``asyncio.to_thread`` call outlives its time limit) used to
keep the process alive for as long as that thread ran. Real ``python -m baton`` processes (and
the console script), each given a deadline far below the threads' ten minutes: a regression
fails, it does not hang.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools.test_registry import make_distribution

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("baton")  # installed: a generated __main__
TOOL = '''
    """Tools that leave threads behind them, as careless tool code does."""
    import asyncio
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from tools import Effect, ToolRegistry

    SHARED = ThreadPoolExecutor(2, thread_name_prefix="crm-shared")  # a module's own, idle


    def register(registry: ToolRegistry) -> None:
        @registry.tool("crm.leak", effect=Effect.READ)
        def leak(name: str) -> str:
            """Start a non-daemon thread that sleeps ten minutes, and return at once.

            Args:
                name: The thread's name.
            """
            threading.Thread(target=time.sleep, args=(600,), name=name, daemon=False).start()
            return "started"

        @registry.tool("crm.poll", effect=Effect.READ)
        async def poll() -> str:
            """Start a thread (non-daemon, as the main thread's are) polling for ten minutes."""
            threading.Thread(target=time.sleep, args=(600,), name="crm-poller").start()
            return "polling"

        @registry.tool("crm.submit", effect=Effect.READ)
        def submit() -> str:
            """Leave a long job running in an executor of its own; use the shared one."""
            ThreadPoolExecutor(1, thread_name_prefix="crm-pool").submit(time.sleep, 600)
            return SHARED.submit(str, "shared").result()

        @registry.tool("crm.stall", effect=Effect.READ, timeout_s=0.5, retry={"max_attempts": 1})
        async def stall() -> str:
            """Wait on a thread that ignores the cancellation of its call."""
            await asyncio.to_thread(time.sleep, 600)
            return "late"
'''
DEADLINE_S = 60  # a hang is a failure, not a stuck test run (the threads sleep 10 minutes)


@pytest.fixture
def leaky_tools(tmp_path, monkeypatch) -> Iterator[Path]:
    """A site directory holding an installed package (a ``baton.tools`` entry point) shipping
    the tools above, on this process's path (for planning) and given to ``baton``'s."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    module = make_distribution(site, "crm", TOOL)
    yield site
    sys.modules.pop(module, None)


def approved_plan(cli, data_dir: Path, steps: list[dict]) -> str:
    """The id of an approved plan of ``steps``."""
    (data_dir / "leak.json").write_text(json.dumps({"goal": "leak threads", "steps": steps}))
    planned = cli("--as", "alice", "plan", "--file", "leak.json", "--json")
    assert planned.returncode == 0, planned.stderr
    body = json.loads(planned.stdout)
    if body["status"] != "approved":
        approved = cli("--as", "bob", "approve", body["plan_id"])
        assert approved.returncode == 0, approved.stderr
    return body["plan_id"]


def baton(data_dir: Path, site: Path, *args: str,
          script: bool = False) -> subprocess.CompletedProcess[str]:
    """A real ``python -m baton --as alice ARGS`` (``script``: the ``baton`` console script,
    where installed) in the workspace; killed past the deadline."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    entry = ([str(CONSOLE_SCRIPT)] if script and CONSOLE_SCRIPT.exists()
             else [sys.executable, "-m", "baton"])
    child = subprocess.Popen([*entry, "--as", "alice", *args],
                             cwd=data_dir, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        pytest.fail(f"baton {' '.join(args)} still running {DEADLINE_S} s after it started, its "
                    f"run long over\nstdout: {out}\nstderr: {err}")
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def test_run_exits_though_a_tool_left_threads_running(cli, data_dir, leaky_tools):
    plan_id = approved_plan(cli, data_dir, [
        {"id": "one", "tool": "crm.leak", "args": {"name": "crm-keepalive"}},
        {"id": "two", "tool": "crm.leak", "args": {"name": "crm-keepalive"}},
        {"id": "three", "tool": "crm.poll", "args": {}},
        {"id": "four", "tool": "crm.submit", "args": {}}])

    ran = baton(data_dir, leaky_tools, "run", plan_id, "--json")

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "succeeded"
    [warning] = [line for line in ran.stderr.splitlines() if "still running" in line]
    # Named, most first; the shared executor's idle threads are not: Python's exit ends them.
    assert "count=4" in warning, ran.stderr
    assert "threads='crm-keepalive: 2, crm-poller: 1, crm-pool_0: 1'" in warning, ran.stderr
    [run] = json.loads(cli("--as", "alice", "runs", "list", "--json").stdout)
    assert run["status"] == "succeeded"


def test_worker_once_exits_though_a_tool_left_a_thread_running(cli, data_dir, leaky_tools):
    plan_id = approved_plan(cli, data_dir, [{"id": "one", "tool": "crm.poll", "args": {}}])
    queued = cli("--as", "alice", "run", plan_id, "--detach")
    assert queued.returncode == 0, queued.stderr

    worked = baton(data_dir, leaky_tools, "worker", "--once", script=True)

    assert worked.returncode == 0, worked.stderr
    assert worked.stdout.strip() == "worker ran 1 run(s)"
    warnings = [json.loads(line) for line in worked.stderr.splitlines()
                if "still running" in line]
    assert [w["threads"] for w in warnings] == ["crm-poller: 1"], worked.stderr
    [run] = json.loads(cli("--as", "alice", "runs", "list", "--json").stdout)
    assert run["status"] == "succeeded"


def ctrl_c_once_the_run_succeeded(cli, data_dir: Path, site: Path, step: dict,
                                  *args: str) -> tuple[int, list[str]]:
    """Queue an approved plan of ``step``, start ``python -m baton ARGS`` to run it, press
    Ctrl-C once the run succeeded: the exit code and the threads its warnings name."""
    plan_id = approved_plan(cli, data_dir, [step])
    queued = cli("--as", "alice", "run", plan_id, "--detach")
    assert queued.returncode == 0, queued.stderr
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    child = subprocess.Popen([sys.executable, "-m", "baton", *args], cwd=data_dir, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and child.poll() is None:
            [run] = json.loads(cli("--as", "alice", "runs", "list", "--json").stdout)
            if run["status"] == "succeeded":
                break
            time.sleep(0.05)
        assert run["status"] == "succeeded", child.communicate(timeout=DEADLINE_S)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=DEADLINE_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    warnings = [json.loads(line) for line in err.splitlines() if "still running" in line]
    return child.returncode, [warning["threads"] for warning in warnings]


def test_ctrl_c_stops_a_worker_though_a_tool_left_a_thread_running(cli, data_dir, leaky_tools):
    code, threads = ctrl_c_once_the_run_succeeded(
        cli, data_dir, leaky_tools, {"id": "one", "tool": "crm.poll", "args": {}},
        "--as", "alice", "worker")
    assert (code, threads) == (130, ["crm-poller: 1"])


def test_ctrl_c_stops_serve_though_a_tool_left_a_thread_running(cli, data_dir, leaky_tools):
    # The API's worker runs tools on a daemon thread: only a thread made non-daemon holds.
    code, threads = ctrl_c_once_the_run_succeeded(
        cli, data_dir, leaky_tools,
        {"id": "one", "tool": "crm.leak", "args": {"name": "crm-keepalive"}},
        "serve", "--port", "0", "--poll-interval", "0.1")
    assert (code, threads) == (130, ["crm-keepalive: 1"])


def test_a_failed_run_exits_1_though_a_timed_out_call_kept_its_thread(cli, data_dir,
                                                                      leaky_tools):
    plan_id = approved_plan(cli, data_dir, [{"id": "stall", "tool": "crm.stall", "args": {}}])

    ran = baton(data_dir, leaky_tools, "run", plan_id)

    assert ran.returncode == 1, ran.stderr
    assert ": failed" in ran.stdout, ran.stdout
    [warning] = [line for line in ran.stderr.splitlines() if "still running" in line]
    assert "count=1" in warning and "threads='baton-async-tool: 1'" in warning, ran.stderr
    [run] = json.loads(cli("--as", "alice", "runs", "list", "--json").stdout)
    assert run["status"] == "failed"
