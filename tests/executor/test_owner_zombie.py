"""A run owner that was killed but not yet reaped by its parent (a zombie) is gone: it will
never write again, so neither resume nor cancel waits out its lease."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from executor.ownership import owner_gone, owner_id_for, pid_alive, pid_namespace
from executor.records import RunStatus
from tests.executor import test_cancel
from tests.executor.runsupport import make_runner
from tests.executor.test_ownership import _queued_run, _set_owner

services = test_cancel.services  # the fixture: Services on a database of the db_url fixture

NOW = datetime.now(UTC)
LEASED = NOW + timedelta(seconds=60)

pytestmark = pytest.mark.skipif(pid_namespace() is None, reason="needs Linux /proc")


def _kill_without_reaping(child: subprocess.Popen) -> None:
    """SIGKILL ``child`` and wait, without waiting *for* it, until it is a zombie."""
    child.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while True:
        with open(f"/proc/{child.pid}/stat") as stat:
            if stat.read().rpartition(")")[2].split()[0] == "Z":
                return
        assert time.monotonic() < deadline, "the killed child never became a zombie"
        time.sleep(0.01)


def test_a_killed_owner_not_yet_reaped_is_gone_before_its_lease_ends():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = owner_id_for(child.pid, "abc")
        assert pid_alive(child.pid) and not owner_gone(owner, LEASED, NOW)
        _kill_without_reaping(child)
        assert not pid_alive(child.pid)
        assert owner_gone(owner, LEASED, NOW)
    finally:
        child.kill()
        child.wait()


def test_resume_takes_over_from_a_killed_owner_not_yet_reaped(engine, tmp_path):
    registry, run_id = _queued_run(engine, tmp_path)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _set_owner(engine, run_id, owner_id_for(child.pid, "abc"))
        _kill_without_reaping(child)
        record = make_runner(engine, registry, tmp_path).resume_sync(run_id)
        assert record.status is RunStatus.SUCCEEDED
    finally:
        child.kill()
        child.wait()


def test_cancel_ends_at_once_a_run_whose_owner_was_killed_and_not_yet_reaped(services):
    from baton.usecases.runs import cancel_run

    run_id = test_cancel._queued_run(services)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        test_cancel._set_owner(services, run_id, owner_id_for(child.pid, "x"), lease_s=60)
        _kill_without_reaping(child)
        record = cancel_run(services, run_id, test_cancel.CAROL)
        assert record.status is RunStatus.CANCELLED and record.owner is None
    finally:
        child.kill()
        child.wait()
