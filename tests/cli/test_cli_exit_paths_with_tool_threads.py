"""Whichever way ``baton run``, ``resume`` or ``worker`` ends once its tools ran, a thread a
tool left running does not keep the process alive: it exits with its code after the grace.

The watchdog was armed only where the command printed its result: output that could not be
written (``>&-``, ``> /dev/full``), a run taken over by another process, a database that
failed or an uncaught exception each ended the command with its code reported, then Python
waited for the tool's ten-minute thread. And a warning that could not be written (stderr a
full disk) ended the watchdog's thread before it ended the process. Real ``python -m baton``
processes, each given a deadline far below the threads' ten minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli_lingering_tool_threads import DEADLINE_S, ROOT, approved_plan
from tests.tools.test_registry import make_distribution

TOOL = '''
    """Tools that leave a thread behind them; one takes its run away from its owner too."""
    import sqlite3
    import threading
    import time

    from tools import Effect, ToolContext, ToolRegistry


    def register(registry: ToolRegistry) -> None:
        @registry.tool("crm.poll", effect=Effect.READ)
        async def poll() -> str:
            """Start a thread (non-daemon, as the main thread's are) polling for ten minutes."""
            threading.Thread(target=time.sleep, args=(600,), name="crm-poller").start()
            return "polling"

        @registry.tool("crm.steal", effect=Effect.READ)
        def steal(context: ToolContext) -> str:
            """Start a polling thread, and hand the run to another owner, as a resume would."""
            threading.Thread(target=time.sleep, args=(600,), name="crm-poller",
                             daemon=False).start()
            with sqlite3.connect(".baton/baton.db") as db:
                db.execute("UPDATE runs SET owner = 'elsewhere:1:x' WHERE id = ?",
                           (context.run_id,))
            return "stolen"
'''
# Run as __main__ (so that Baton knows its own process): a run whose use case leaves a thread
# running, as a tool would, then fails with FAILURE, an error main does not know. (A thread
# started before main is the program's own, waited for in full: not a tool's.)
FAILING_MAIN = '''
import sqlite3, sys, threading, time
import baton.usecases.runs
from baton.cli.main import main

def fail(*args, **kwargs):
    threading.Thread(target=time.sleep, args=(600,), name="crm-poller").start()
    raise {failure}

baton.usecases.runs.start_run = fail
sys.exit(main(["--as", "alice", "run", "p-any"]))
'''


@pytest.fixture
def site(tmp_path, monkeypatch) -> Iterator[Path]:
    """A site directory holding an installed package shipping the tools above."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    module = make_distribution(root, "crm", TOOL)
    yield root
    sys.modules.pop(module, None)


def spawn(data_dir: Path, site: Path, *args: str, stdout: str | None = "pipe",
          stderr: str = "pipe") -> tuple[int, str, str]:
    """``python ARGS`` in the workspace, its stdout and stderr each a pipe, ``/dev/full`` or
    (stdout only) ``None``, closed: its exit code, and what each pipe got; killed past the
    deadline."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    streams = {}
    with open("/dev/full", "w") as full:
        for name, how in (("stdout", stdout), ("stderr", stderr)):
            streams[name] = {"pipe": subprocess.PIPE, "/dev/full": full}.get(how)
        child = subprocess.Popen([sys.executable, *args], cwd=data_dir, env=env, text=True,
                                 preexec_fn=None if stdout else lambda: os.close(1),
                                 **streams)
    try:
        out, err = child.communicate(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        pytest.fail(f"{' '.join(args)} still running {DEADLINE_S} s after it started\n"
                    f"stdout: {out}\nstderr: {err}")
    return child.returncode, out or "", err or ""


def baton(data_dir: Path, site: Path, *args: str, **streams: str | None) -> tuple[int, str, str]:
    """A real ``python -m baton --as alice ARGS``: see :func:`spawn`."""
    return spawn(data_dir, site, "-m", "baton", "--as", "alice", *args, **streams)


def left_running(err: str) -> list[str]:
    """The threads the exit warnings in ``err`` name."""
    return [line.split("threads=", 1)[1].split(" waited_s")[0] for line in err.splitlines()
            if "still running" in line]


def statuses(cli) -> list[str]:
    return [run["status"] for run in json.loads(cli("--as", "alice", "runs", "list",
                                                    "--json").stdout)]


@pytest.mark.parametrize("stdout", ["/dev/full", None], ids=["full-disk", "closed"])
def test_a_run_whose_result_cannot_be_written_exits_1_though_a_tool_left_a_thread(
        cli, data_dir, site, stdout):
    plan_id = approved_plan(cli, data_dir, [{"id": "one", "tool": "crm.poll", "args": {}}])

    code, _, err = baton(data_dir, site, "run", plan_id, "--json", stdout=stdout)

    assert code == 1, err
    assert "cannot write standard output" in err, err
    assert left_running(err) == ["'crm-poller: 1'"], err
    assert statuses(cli) == ["succeeded"]


def test_a_worker_whose_output_cannot_be_written_exits_1_though_a_tool_left_a_thread(
        cli, data_dir, site):
    plan_id = approved_plan(cli, data_dir, [{"id": "one", "tool": "crm.poll", "args": {}}])
    assert cli("--as", "alice", "run", plan_id, "--detach").returncode == 0

    code, _, err = baton(data_dir, site, "worker", "--once", stdout="/dev/full")

    assert code == 1, err
    assert "cannot write standard output" in err, err
    assert [json.loads(line)["threads"] for line in err.splitlines()
            if "still running" in line] == ["crm-poller: 1"], err
    assert statuses(cli) == ["succeeded"]


def test_a_run_taken_over_exits_1_though_a_tool_left_a_thread(cli, data_dir, site):
    plan_id = approved_plan(cli, data_dir, [{"id": "one", "tool": "crm.steal", "args": {}}])

    code, _, err = baton(data_dir, site, "run", plan_id)

    assert code == 1, err
    assert "was taken over by elsewhere:1:x" in err, err
    assert left_running(err) == ["'crm-poller: 1'"], err


@pytest.mark.parametrize(("failure", "said"), [
    ("sqlite3.OperationalError('disk I/O error')", "error: the database failed: "),
    ("RuntimeError('a bug')", "RuntimeError: a bug")], ids=["database", "uncaught"])
def test_a_command_failing_as_main_does_not_expect_exits_1_though_a_thread_runs(
        cli, data_dir, site, failure, said):
    (data_dir / "failing_main.py").write_text(FAILING_MAIN.format(failure=failure))

    code, _, err = spawn(data_dir, site, "failing_main.py")

    assert code == 1, err
    assert said in err, err
    assert left_running(err) == ["'crm-poller: 1'"], err


def test_a_run_whose_warning_cannot_be_written_exits_though_a_tool_left_a_thread(
        cli, data_dir, site):
    plan_id = approved_plan(cli, data_dir, [{"id": "one", "tool": "crm.poll", "args": {}}])

    code, out, _ = baton(data_dir, site, "run", plan_id, "--json", stderr="/dev/full")

    assert code == 0
    assert json.loads(out)["status"] == "succeeded"
