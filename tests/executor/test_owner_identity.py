"""Whether a run's owner is gone: a local pid answers only for an owner of this boot and PID
namespace that started when that pid's process did; everywhere else the lease decides."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from executor.ownership import new_owner_id, owner_gone, owner_id_for, pid_namespace, start_time

NOW = datetime.now(UTC)
LEASED = NOW + timedelta(seconds=60)
EXPIRED = NOW - timedelta(seconds=1)
HOST = socket.gethostname()

pytestmark = pytest.mark.skipif(pid_namespace() is None, reason="needs Linux /proc")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_an_owner_id_names_host_pid_token_then_its_place():
    host, pid, token, place = new_owner_id().split(":")
    assert (host, int(pid), len(token)) == (HOST, os.getpid(), 12)
    assert place == f"{pid_namespace()}.{start_time(os.getpid())}"


def test_a_live_owner_in_another_pid_namespace_with_the_same_hostname_is_not_gone():
    # Its pid means nothing here (no such process, or another one): only the lease counts.
    for pid in (_dead_pid(), os.getpid()):
        owner = f"{HOST}:{pid}:abc:0123456789ab.{start_time(os.getpid())}"
        assert not owner_gone(owner, LEASED, NOW)
        assert owner_gone(owner, EXPIRED, NOW)


def test_a_dead_owner_of_this_namespace_is_gone_before_its_lease_ends():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    owner = owner_id_for(child.pid, "abc")
    assert not owner_gone(owner, LEASED, NOW)
    child.kill()
    child.wait()
    assert owner_gone(owner, LEASED, NOW)


def test_an_owner_whose_pid_another_process_reuses_is_gone():
    started = start_time(os.getpid())
    owner = f"{HOST}:{os.getpid()}:abc:{pid_namespace()}.{started - 1}"
    assert owner_gone(owner, LEASED, NOW)


def test_an_owner_id_of_an_earlier_version_goes_by_its_lease():
    owner = f"{HOST}:{_dead_pid()}:abc"
    assert not owner_gone(owner, LEASED, NOW)
    assert owner_gone(owner, EXPIRED, NOW)
    assert owner_gone(None, LEASED, NOW)
