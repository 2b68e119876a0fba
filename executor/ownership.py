"""Run owners: who holds a run and whether that owner is gone.

An owner id reads ``host:pid:token:place``: ``place`` is ``<pid namespace>.<start time>``,
a short hash of the boot id and the PID namespace the process lives in, then the start
time of the process (clock ticks after boot, from ``/proc/<pid>/stat``). A pid answers
for its owner only where all of them match: the same hostname can belong to another
machine or to a container with a PID namespace of its own (``--uts=host``, a Kubernetes
``hostNetwork`` pod), where a pid means another process or none; and a pid can be reused
by a new process. A process that ended but is not yet reaped by its parent (a zombie) is
gone: it still holds its pid, but it will never act on the run again. One whose main thread
ended while other threads run is not (Linux shows its leader as a zombie). Anywhere else, and
for ids without a place (written by earlier versions, or where ``/proc`` cannot be read),
the lease alone says whether the owner is gone.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import uuid
from datetime import datetime
from pathlib import Path

PROC = Path("/proc")


def new_owner_id() -> str:
    """A fresh owner id for this process: ``hostname:pid:random[:place]``."""
    return owner_id_for(os.getpid(), uuid.uuid4().hex[:12])


def owner_id_for(pid: int, token: str) -> str:
    """The owner id of the local process ``pid`` with ``token`` (no place if it cannot be read)."""
    base = f"{socket.gethostname()}:{pid}:{token}"
    namespace, started = pid_namespace(), start_time(pid)
    if namespace is None or started is None:
        return base
    return f"{base}:{namespace}.{started}"


@functools.cache
def pid_namespace() -> str | None:
    """This process's boot and PID namespace, as 12 hex digits (None: no ``/proc`` to tell)."""
    try:
        boot_id = (PROC / "sys/kernel/random/boot_id").read_text().strip()
        inode = os.stat(PROC / "self/ns/pid").st_ino
    except OSError:
        return None
    return hashlib.sha256(f"{boot_id}:{inode}".encode()).hexdigest()[:12]


def start_time(pid: int) -> int | None:
    """When process ``pid`` (as this namespace numbers it) started, in clock ticks after boot."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19])  # field 22
    except (IndexError, ValueError):
        return None


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` from the third (state) on; [] if it cannot be read."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return []
    # The command name (field 2) is in parentheses and may hold spaces and ')'.
    return stat.rpartition(")")[2].split()


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists in this PID namespace and is not a zombie (a
    live thread of it is left)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, it is just not ours
    # A zombie (killed or exited, not yet reaped by its parent) still answers kill(pid, 0), but
    # it will never run again. Where /proc cannot tell (not Linux), kill's answer stands.
    fields = _stat_fields(pid)
    if not fields or fields[0] != "Z":
        return True
    # Linux shows a leader (main) thread that ended as Z while the process's other threads
    # still run: the process is a zombie only when none of them is left.
    return _a_thread_runs(pid)


def _a_thread_runs(pid: int) -> bool:
    """Whether a thread of process ``pid`` (its leader a zombie) is still alive."""
    try:
        tasks = [entry.name for entry in os.scandir(PROC / str(pid) / "task")]
    except FileNotFoundError:  # reaped meanwhile
        return False
    except OSError:  # hidden from us: the lease decides, rather than run a run twice
        return True
    for task in tasks:
        try:
            stat = (PROC / str(pid) / "task" / task / "stat").read_text()
        except OSError:  # that thread ended meanwhile
            continue
        if stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"]):
            return True
    return False


def owner_gone(owner: str | None, lease_expires_at: datetime | None, now: datetime) -> bool:
    """True when nobody holds the run: no owner, its lease expired, or (only where its id
    names this machine's boot and PID namespace) its process is no longer there."""
    if owner is None:
        return True
    if lease_expires_at is None or lease_expires_at <= now:
        return True
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False  # another machine or namespace, or an id without its place: the lease
    namespace, _, started = parts[3].partition(".")
    if namespace != pid_namespace() or not started.isdigit():
        return False
    pid = int(parts[1])
    if not pid_alive(pid):
        return True
    now_started = start_time(pid)
    # The pid is another process's now (reused) when it started at another time.
    return now_started is not None and now_started != int(started)
