"""A costly JSON result computed once per test run, whichever pytest-xdist worker asks first.

A module-level cache is per process: under ``-n auto`` each worker that runs one of the
tests needing the result would compute it again. The first worker to ask computes it under
a file lock in the run's shared temporary directory; the others wait and read it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from typing import Any

import pytest


def computed_once(tmp_path_factory: pytest.TempPathFactory, name: str,
                  compute: Callable[[], Any]) -> Any:
    """``compute()`` (JSON-serializable) for this run, computed by the first process to ask."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # a worker's base directory lies in the run's, which all share
    stored = root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stored.is_file():
            return json.loads(stored.read_text())
        result = compute()  # nothing is stored when it fails: the next test tries again
        stored.write_text(json.dumps(result))
        return result
