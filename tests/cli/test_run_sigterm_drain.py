"""SIGTERM (or a first Ctrl-C) to ``baton run`` or ``baton resume`` in the foreground drains the
run as it drains a worker's: no step starts from the signal on, the calls in flight get
``[executor] drain_grace_s`` to end and their results are recorded, then the run is left, its
lease given back (a worker claims it at once), and the last line names it and its resume.

Real processes and real signals, on the workspace of ``test_shutdown_drains``; synchronised on
files the tools write and on the lines the process prints, never on durations.
"""

from __future__ import annotations

import json
import signal

from tests.cli import test_shutdown_drains as drains
from tests.cli.test_shutdown_drains import Process, Workspace, _finished_by_another_worker

workspace = drains.workspace  # the fixture: the tools installed, a plan approved, both databases


def _run_id(ws: Workspace) -> str:
    [run] = json.loads(ws.cli("--as", "alice", "runs", "list", "--json").stdout)
    return run["id"]


def _stopping(process: Process) -> bool:
    return any(line.startswith("stopping: run ") for line in process.err)


def _assert_left(ws: Workspace, process: Process, code: int, run_id: str,
                 steps: dict[str, str]) -> None:
    ended = process.ended()
    err = "".join(process.err)
    assert ended == code, err
    assert process.err[-1].rstrip("\n") == (
        f"stopped: run {run_id} left unfinished; finish it with `baton resume {run_id}` "
        "(or let a worker take it over)"), err
    assert "Traceback" not in err, err
    assert "".join(process.out) == ""
    run = ws.run(run_id)
    assert run["status"] == "running"
    assert {s["step_id"]: s["status"] for s in run["steps"]} == steps


def test_sigterm_drains_baton_run_and_a_worker_finishes_the_run_at_once(workspace, monkeypatch):
    ws = workspace
    monkeypatch.setenv("BATON_EXECUTOR_DRAIN_GRACE", "120")  # no race with the release below
    run = ws.start("--as", "alice", "run", ws.plan_id, "--json")
    try:
        run.until(lambda: (ws.root / "a.ready").exists())
        run.popen.send_signal(signal.SIGTERM)
        run.until(lambda: _stopping(run))  # seen by the run: b will not start
        (ws.root / "a.release").write_text("go")
        run_id = _run_id(ws)
        # a, in flight at the signal, ended in the grace: its result is recorded
        _assert_left(ws, run, 143, run_id, {"a": "succeeded", "b": "pending", "c": "pending"})
    finally:
        run.stop()
    assert ws.calls(run_id) == ["a 1"]
    _finished_by_another_worker(ws, run_id)  # its lease was given back: claimed at once
    assert ws.calls(run_id) == ["a 1", "b 1", "c 1"]


def test_ctrl_c_with_no_grace_leaves_a_resumed_run_at_once(workspace):
    ws = workspace
    with (ws.root / "baton.toml").open("a") as config:
        config.write("\n[executor]\ndrain_grace_s = 0\n")
    run_id = ws.queue()
    resume = ws.start("--as", "alice", "resume", run_id, "--json")
    try:
        resume.until(lambda: (ws.root / "a.ready").exists())
        resume.popen.send_signal(signal.SIGINT)  # the first Ctrl-C drains, as SIGTERM does
        # a never ends here: left in flight once the drain is seen, no grace given
        _assert_left(ws, resume, 130, run_id, {"a": "running", "b": "pending", "c": "pending"})
    finally:
        resume.stop()
    (ws.root / "a.release").write_text("go")
    _finished_by_another_worker(ws, run_id)
    assert ws.calls(run_id) == ["a 1", "a 2", "b 1", "c 1"]  # a read: called again


def test_serve_and_worker_drain_with_the_grace_set(cli, data_dir, monkeypatch):
    import executor.draining
    from baton.cli import serve_cmd

    with (data_dir / "baton.toml").open("a") as config:
        config.write("\n[executor]\ndrain_grace_s = 7.5\n")
    graces: list[float] = []

    class Drain(executor.draining.Drain):
        def __init__(self, grace_s: float, **kwargs: object) -> None:
            graces.append(grace_s)
            super().__init__(grace_s, **kwargs)

    monkeypatch.setattr(executor.draining, "Drain", Drain)
    assert cli("worker", "--once").returncode == 0
    assert graces == [7.5]

    class Server:  # uvicorn's, which would serve: what it was given is enough
        def __init__(self, config, _on_signal) -> None:  # noqa: ANN001
            self.config = config

        def run(self, sockets) -> None:  # noqa: ANN001
            for sock in sockets:
                sock.close()
            served_with.extend([self.config.app.state.worker.grace_s,
                                self.config.timeout_graceful_shutdown])

    served_with: list[float] = []
    monkeypatch.setattr(serve_cmd, "_server", Server)
    served = cli("serve", "--port", "0")
    assert served.returncode == 0, served.stderr
    assert served_with == [7.5, 8]  # the worker's grace, and uvicorn's for open connections


def test_ctrl_c_before_the_run_is_recorded_stops_at_once_and_records_none(cli, plan_id,
                                                                          monkeypatch):
    from executor.runner import Runner

    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    record = Runner.create_run

    def interrupted(self, *args, **kwargs):
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # as Python calls it on a Ctrl-C
        return record(self, *args, **kwargs)

    monkeypatch.setattr(Runner, "create_run", interrupted)
    ran = cli("--as", "alice", "run", plan_id)
    assert ran.returncode == 130, ran.stderr
    assert "interrupted before the run was recorded" in ran.stderr
    # Not recorded, so never handed to a worker: nothing runs after a Ctrl-C that came first.
    assert json.loads(cli("--as", "alice", "runs", "list", "--json").stdout) == []
