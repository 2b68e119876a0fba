"""A run owner whose main thread ended while its other threads go on is alive.

Linux shows a thread-group leader that ended (``pthread_exit`` in the main thread, as an
embedding program may do once it has handed work to threads) as a zombie, ``Z`` in
``/proc/PID/stat``, while the process's other threads still run. Judged by the leader's
state alone the owner was gone: ``baton resume`` took over a run it was running, and two
processes ran the same step. Only a process none of whose threads runs is a zombie.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from executor.ownership import owner_gone, owner_id_for, pid_alive, pid_namespace
from executor.runner import RunOwnedError
from tests.executor.runsupport import make_runner
from tests.executor.test_ownership import _queued_run, _set_owner

NOW = datetime.now(UTC)
LEASED = NOW + timedelta(seconds=60)
# The main thread starts a thread that sleeps a minute, then ends by itself: the process
# (that thread) goes on, its leader a zombie.
LEADER_ENDS = """
import ctypes, threading, time
threading.Thread(target=time.sleep, args=(60,)).start()
ctypes.CDLL(None).pthread_exit(None)
"""

pytestmark = pytest.mark.skipif(pid_namespace() is None, reason="needs Linux /proc")


def _state(pid: int, task: int | None = None) -> str:
    path = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
    with open(path) as stat:
        return stat.read().rpartition(")")[2].split()[0]


def _leader_ended(child: subprocess.Popen) -> None:
    """Wait until ``child``'s leader shows as a zombie while another of its threads lives."""
    deadline = time.monotonic() + 10
    while _state(child.pid) != "Z":
        assert child.poll() is None, "the child ended"
        assert time.monotonic() < deadline, "the child's main thread never ended"
        time.sleep(0.01)
    tasks = [int(t) for t in os.listdir(f"/proc/{child.pid}/task")]
    assert any(_state(child.pid, t) != "Z" for t in tasks if t != child.pid), tasks


@pytest.fixture
def leader_ended():
    """A live process whose main thread has ended."""
    child = subprocess.Popen([sys.executable, "-c", LEADER_ENDS])
    try:
        _leader_ended(child)
        yield child
    finally:
        child.kill()
        child.wait()


def test_an_owner_whose_main_thread_ended_is_alive_while_another_thread_runs(leader_ended):
    owner = owner_id_for(leader_ended.pid, "abc")
    assert pid_alive(leader_ended.pid)
    assert not owner_gone(owner, LEASED, NOW)


def test_once_its_last_thread_is_killed_too_the_owner_is_gone(leader_ended):
    owner = owner_id_for(leader_ended.pid, "abc")
    leader_ended.send_signal(signal.SIGKILL)  # not reaped: its leader stays, a zombie
    deadline = time.monotonic() + 10
    while os.listdir(f"/proc/{leader_ended.pid}/task") != [str(leader_ended.pid)]:
        assert time.monotonic() < deadline, "the killed child's thread never ended"
        time.sleep(0.01)
    assert not pid_alive(leader_ended.pid)
    assert owner_gone(owner, LEASED, NOW)


def test_resume_is_refused_while_an_owner_whose_main_thread_ended_runs(engine, tmp_path,
                                                                       leader_ended):
    registry, run_id = _queued_run(engine, tmp_path)
    owner = owner_id_for(leader_ended.pid, "abc")
    _set_owner(engine, run_id, owner)
    with pytest.raises(RunOwnedError, match=owner):
        make_runner(engine, registry, tmp_path).resume_sync(run_id)
