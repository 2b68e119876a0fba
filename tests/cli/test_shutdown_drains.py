"""SIGTERM (or Ctrl-C) to ``baton serve``, SIGTERM to ``baton worker``: a drain.

No run is claimed from the signal on, the run in progress starts no new step, the step
running ends and its result is recorded, and the run is left, its lease given back, for
another worker, which finishes it calling each remaining step once. An open event stream
ends with the server instead of holding its shutdown until the run ends.

Real processes and real signals; synchronised on files the tools write and on log lines,
never on durations (a wait is bounded only so that a hang fails instead of lasting).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_in_process import in_process_baton
from tests.support.gate_services import BACKENDS, database_url
from tests.tools.test_registry import make_distribution

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "drain-test-token-0123456789abcdef0123456789"
CONFIG = f"""
workspace = "ws"

[users.alice]
roles = ["analyst"]
token_sha256 = ["{hashlib.sha256(TOKEN.encode()).hexdigest()}"]

[users.bob]
roles = ["approver"]
"""
TOOL = '''
    """crm.hold waits for a release file; crm.note is a write that is not idempotent."""
    import time
    from pathlib import Path

    from tools import Effect, ToolContext, ToolRegistry


    def _called(log: str, context: ToolContext) -> None:
        with open(log, "a") as f:
            f.write(f"{context.run_id} {context.step_id} {context.attempt}\\n")


    def register(registry: ToolRegistry) -> None:
        @registry.tool("crm.hold", effect=Effect.READ, idempotent=True, timeout_s=120)
        def hold(log: str, ready: str, release: str, context: ToolContext) -> str:
            """Say it runs, then wait until released.

            Args:
                log: File each call is noted in.
                ready: File written once the tool runs.
                release: File whose existence ends the wait.
            """
            _called(log, context)
            Path(ready).write_text("ready")
            deadline = time.monotonic() + 120
            while not Path(release).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return context.step_id

        @registry.tool("crm.note", effect=Effect.WRITE, idempotent=False, timeout_s=120)
        def note(log: str, text: str, context: ToolContext) -> str:
            """Write a note somewhere (not idempotent).

            Args:
                log: File each call is noted in.
                text: The note.
            """
            _called(log, context)
            return text
'''
LIVENESS_S = 90  # only a bound on a hang: nothing here is timed


@pytest.fixture(params=BACKENDS)
def workspace(request, data_dir, tmp_path, monkeypatch, capsys) -> Iterator[Workspace]:
    """A workspace with the tools installed and a plan approved, on SQLite or PostgreSQL."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))  # the in-process CLI plans with the tools too
    before = set(sys.modules)
    make_distribution(site, "crm", TOOL)
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    try:
        with database_url(request.param, data_dir) as url, in_process_baton(capsys) as cli:
            yield Workspace(data_dir, site, url, cli)
    finally:
        for name in set(sys.modules) - before:
            if name.startswith("baton_test_tools_"):
                del sys.modules[name]


class Workspace:
    """Plans, runs and ``baton`` processes of one workspace."""

    def __init__(self, root: Path, site: Path, url: str, cli: Callable[..., Any]) -> None:
        self.root, self.site, self.url, self._cli = root, site, url, cli
        (root / "always").write_text("released")
        self.plan_id = self._approved_plan()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = self._cli(*args, env={"BATON_DATABASE_URL": self.url})
        assert done.returncode == 0, done.stderr
        return done

    def _approved_plan(self) -> str:
        log, step = str(self.root / "calls.log"), str(self.root)
        plan = {"goal": "hold, note, hold", "steps": [
            {"id": "a", "tool": "crm.hold", "args": {
                "log": log, "ready": f"{step}/a.ready", "release": f"{step}/a.release"}},
            {"id": "b", "tool": "crm.note", "args": {"log": log, "text": {"ref": "a.value"}}},
            {"id": "c", "tool": "crm.hold", "depends_on": ["b"], "args": {
                "log": log, "ready": f"{step}/c.ready", "release": f"{step}/always"}}]}
        (self.root / "plan.json").write_text(json.dumps(plan))
        body = json.loads(self.cli("--as", "alice", "plan", "--file", "plan.json",
                                   "--json").stdout)
        if body["status"] != "approved":
            self.cli("--as", "bob", "approve", body["plan_id"])
        return body["plan_id"]

    def queue(self) -> str:
        return self.cli("--as", "alice", "run", self.plan_id, "--detach").stdout.strip()

    def run(self, run_id: str) -> dict[str, object]:
        return json.loads(self.cli("--as", "alice", "runs", "show", run_id, "--json").stdout)

    def calls(self, run_id: str) -> list[str]:
        path = self.root / "calls.log"
        lines = path.read_text().splitlines() if path.exists() else []
        return [line.split(" ", 1)[1] for line in lines if line.startswith(run_id + " ")]

    def start(self, *args: str) -> Process:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(self.site), str(ROOT)]),
                   BATON_DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1")
        env.pop("BATON_CONFIG", None)
        return Process([sys.executable, "-m", "baton", *args], self.root, env)


class Process:
    """A ``baton`` process; its stdout and stderr lines collected as they come."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.popen.stdout, self.out),
                                               (self.popen.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:  # noqa: ANN001
        for line in stream:
            lines.append(line)

    def logged(self, event: str) -> list[dict[str, object]]:
        """The JSON log lines on stderr whose event is ``event``."""
        found = []
        for line in list(self.err):
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("event") == event:
                    found.append(entry)
        return found

    def until(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition`` holds; fail (with the process's stderr) if it exits first."""
        deadline = time.monotonic() + LIVENESS_S
        while not condition():
            assert self.popen.poll() is None, "".join(self.err)[-3000:]
            assert time.monotonic() < deadline, "".join(self.err)[-3000:]
            time.sleep(0.05)

    def ended(self) -> int:
        try:
            code = self.popen.wait(LIVENESS_S)
        finally:
            self.stop()
        for reader in self._readers:
            reader.join(10)
        return code

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)


def _serve(ws: Workspace) -> tuple[Process, int]:
    server = ws.start("serve", "--port", "0", "--poll-interval", "0.1")
    server.until(lambda: any("Baton on" in line for line in server.out))
    port = int(re.search(r":(\d+)/", "".join(server.out)).group(1))
    server.until(lambda: server.logged("Application startup complete."))
    return server, port


def _finished_by_another_worker(ws: Workspace, *runs: str) -> None:
    """A new worker claims the runs at once (their lease was given back) and ends them."""
    worker = ws.start("worker", "--once")
    assert worker.ended() == 0, "".join(worker.err)[-3000:]
    assert f"worker ran {len(runs)} run(s)" in "".join(worker.out), "".join(worker.err)[-3000:]
    for run_id in runs:
        assert ws.run(run_id)["status"] == "succeeded"


def _left_with_a_done(ws: Workspace, run_id: str, process: Process) -> None:
    run = ws.run(run_id)
    assert run["status"] == "running"
    assert {s["step_id"]: s["status"] for s in run["steps"]} == {
        "a": "succeeded", "b": "pending", "c": "pending"}
    [left] = process.logged("run left unfinished: shutting down")
    assert left["run_id"] == run_id and left["in_flight"] == []
    assert f"baton resume {run_id}" in left["finish"]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_server_starts_no_new_step_and_another_worker_finishes_the_run(workspace,
                                                                                 stop):
    ws = workspace
    server, _ = _serve(ws)
    try:
        first = ws.queue()
        server.until(lambda: (ws.root / "a.ready").exists())
        server.popen.send_signal(stop)
        server.until(lambda: server.logged("Shutting down"))  # the drain began before this
        (ws.root / "a.release").write_text("go")
        code = server.ended()
    finally:
        server.stop()
    assert code == (-signal.SIGTERM if stop == signal.SIGTERM else 130), "".join(server.err)
    assert ws.calls(first) == ["a 1"]  # the write b never started
    _left_with_a_done(ws, first, server)
    _finished_by_another_worker(ws, first)
    assert ws.calls(first) == ["a 1", "b 1", "c 1"]


def test_an_open_event_stream_ends_with_the_server_and_nothing_is_claimed_after_the_signal(
        workspace):
    ws = workspace
    server, port = _serve(ws)
    try:
        first = ws.queue()
        server.until(lambda: (ws.root / "a.ready").exists())
        stream: list[str] = []
        follower = threading.Thread(target=_follow, args=(port, first, stream), daemon=True)
        follower.start()
        server.until(lambda: any(line.startswith("event: attempt_start") for line in stream))
        server.popen.send_signal(signal.SIGTERM)
        server.until(lambda: server.logged("Shutting down"))
        second = ws.queue()  # queued after the signal: this server must not claim it
        (ws.root / "a.release").write_text("go")
        code = server.ended()
        follower.join(LIVENESS_S)
    finally:
        server.stop()
    assert code == -signal.SIGTERM, "".join(server.err)
    assert not follower.is_alive()
    assert [line for line in stream if line.startswith("event:")][-1] == "event: server_stopping"
    assert ws.calls(first) == ["a 1"]
    _left_with_a_done(ws, first, server)
    assert ws.run(second)["status"] == "queued"
    assert all(e["run_id"] != second for e in server.logged("worker claimed run"))
    _finished_by_another_worker(ws, first, second)
    assert ws.calls(first) == ["a 1", "b 1", "c 1"]
    assert ws.calls(second) == ["a 1", "b 1", "c 1"]


def test_sigterm_drains_a_worker_and_another_finishes_the_run(workspace):
    ws = workspace
    first = ws.queue()
    worker = ws.start("worker")
    try:
        worker.until(lambda: (ws.root / "a.ready").exists())
        worker.popen.send_signal(signal.SIGTERM)
        worker.until(lambda: worker.logged("shutting down: the run starts no more steps"))
        second = ws.queue()  # queued after the signal: this worker must not claim it
        (ws.root / "a.release").write_text("go")
        code = worker.ended()
    finally:
        worker.stop()
    assert code == 143, "".join(worker.err)
    assert "worker ran 0 run(s)" in "".join(worker.out)
    assert ws.calls(first) == ["a 1"]
    _left_with_a_done(ws, first, worker)
    assert ws.run(second)["status"] == "queued"
    _finished_by_another_worker(ws, first, second)
    assert ws.calls(first) == ["a 1", "b 1", "c 1"]


def _follow(port: int, run_id: str, lines: list[str]) -> None:
    """Read the run's event stream, line by line, until the server ends it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=LIVENESS_S)
    connection.request("GET", f"/api/v1/runs/{run_id}/events",
                       headers={"Authorization": f"Bearer {TOKEN}"})
    response = connection.getresponse()
    assert response.status == 200
    for raw in response:
        lines.append(raw.decode().rstrip("\n"))
    connection.close()
