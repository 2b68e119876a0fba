"""Run owners: who holds a run (``host:pid:token``) and whether that owner is gone."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime


def new_owner_id() -> str:
    """A fresh owner id for this process: ``hostname:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    return True


def owner_gone(owner: str | None, lease_expires_at: datetime | None, now: datetime) -> bool:
    """True when nobody holds the run: no owner, its lease expired, or its pid is dead on this host."""
    if owner is None:
        return True
    if lease_expires_at is None or lease_expires_at <= now:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host == socket.gethostname() and pid_text.isdigit():
        return not pid_alive(int(pid_text))
    return False
