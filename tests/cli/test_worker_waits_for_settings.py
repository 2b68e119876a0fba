"""``baton worker`` while its settings file does not load: runs stay queued until it does.

A half-saved ``baton.toml`` must not fail runs for good. The worker claimed the next run
and the approval check, which reads the users again, refused it: the run ended ``failed``
with the settings error, while ``baton serve``'s background worker left it queued. Now the
worker claims nothing while the file does not load, logs once that it waits, and goes on
once the file loads again; ``--once`` exits with the settings error, claiming nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
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
PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "b.csv", "text": {"ref": "load.text"}}}]}
WAITS = "worker waits: the settings file does not load"

Baton = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def baton(data_dir: Path, capsys) -> Iterator[Baton]:
    """``baton(*args, user=..., config=...)`` run in-process; ``config``: another file to read
    (the one the worker reads may be broken)."""
    with in_process_baton(capsys) as run:
        def call(*args: str, user: str = "alice", config: str | None = None):
            return run(*args, env={"COLUMNS": "200", "BATON_USER": user, "BATON_CONFIG": config})

        yield call


@pytest.fixture
def approved(data_dir: Path, baton: Baton) -> str:
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "good.toml").write_text(CONFIG)  # for the test's commands while it is broken
    (data_dir / "ws").mkdir()
    (data_dir / "ws" / "a.csv").write_text("region,total\nnorth,3\n")
    (data_dir / "plan.json").write_text(json.dumps(PLAN))
    planned = baton("plan", "--file", "plan.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    assert baton("approve", plan_id, user="bob").returncode == 0
    return plan_id


def _save(path: Path, text: str) -> None:
    """Write as an editor saves: a new file moved over the old one."""
    new = path.with_suffix(".new")
    new.write_text(text)
    os.replace(new, path)


def _status(baton: Baton, run_id: str) -> str:
    shown = baton("runs", "show", run_id, "--json", config="good.toml")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)["status"]


def _until(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


class Worker:
    """A ``baton worker`` process; its stderr's JSON lines collected as they come."""

    def __init__(self, cwd: Path) -> None:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("BATON_CONFIG", None)
        self.process = subprocess.Popen([sys.executable, "-m", "baton", "worker"], cwd=cwd,
                                        env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def events(self) -> list[str]:
        return [json.loads(line).get("event", "") for line in list(self.lines)
                if line.startswith("{")]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(10)


def test_a_worker_leaves_runs_queued_while_the_settings_file_does_not_load(
        approved, data_dir, baton):
    worker = Worker(data_dir)
    try:
        first = baton("run", approved, "--detach").stdout.strip()
        assert _until(lambda: _status(baton, first) == "succeeded"), worker.lines
        _save(data_dir / "baton.toml", CONFIG + "[[[\n")  # half saved
        queued = baton("run", approved, "--detach", config="good.toml")
        assert queued.returncode == 0, queued.stderr
        second = queued.stdout.strip()
        assert _until(lambda: WAITS in worker.events() or _status(baton, second) != "queued",
                      30), worker.lines
        time.sleep(2.5)  # the worker looks for runs every second
        assert _status(baton, second) == "queued", worker.lines
        _save(data_dir / "baton.toml", CONFIG)
        assert _until(lambda: _status(baton, second) == "succeeded"), worker.lines
    finally:
        worker.stop()
    events = worker.events()
    assert events.count(WAITS) == 1, events
    assert events.count("worker claimed run") == 2, events


def test_worker_once_exits_with_the_settings_error_and_claims_nothing(approved, data_dir,
                                                                      baton):
    queued = baton("run", approved, "--detach").stdout.strip()
    _save(data_dir / "baton.toml", CONFIG + "[[[\n")
    worked = baton("worker", "--once")
    assert worked.returncode == 2, worked.stderr
    assert "baton.toml" in worked.stderr and "worker claimed run" not in worked.stderr
    assert _status(baton, queued) == "queued"


def test_a_file_that_breaks_between_the_look_and_the_claim_leaves_the_run_queued(
        approved, data_dir, baton, monkeypatch):
    """The worker looks at the file before each claim; one saved half-way just after that look
    made the run's approval check fail, and the run ended failed for good."""
    from baton.settings_reload import SettingsWait

    queued = baton("run", approved, "--detach").stdout.strip()
    look = SettingsWait.blocked
    looks: list[bool] = []

    def then_it_breaks(self: SettingsWait) -> bool:
        looks.append(look(self))
        if len(looks) == 2:  # the look before the claim (the first: before the runner is made)
            _save(data_dir / "baton.toml", CONFIG + "[[[\n")
        return looks[-1]

    monkeypatch.setattr(SettingsWait, "blocked", then_it_breaks)
    worked = baton("worker", "--once")
    assert worked.returncode == 2, worked.stderr
    assert "worker claimed run" in worked.stderr  # the race: claimed, then not judged
    assert _status(baton, queued) == "queued"

    monkeypatch.setattr(SettingsWait, "blocked", look)
    _save(data_dir / "baton.toml", CONFIG)
    assert baton("worker", "--once").returncode == 0
    assert _status(baton, queued) == "succeeded"
