"""An evaluator process that dies while it waits for a query is reaped at once, not left a
zombie until the next decision, and the next decision is judged by a new one."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from policies.embedded import EmbeddedEngine
from policies.isolated_rego import EvaluatorPool, IsolatedEmbeddedEngine

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="waits with waitid")

PATIENCE_S = 120.0  # only so that a broken build fails instead of hanging


def _reaped(pid: int) -> bool:
    """Whether ``pid`` is no longer a child of this process to reap (running or a zombie)."""
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return False


def test_a_process_killed_while_idle_is_reaped_and_the_next_decision_is_judged(bundle):
    pool = EvaluatorPool(bundle.modules, bundle.data_document(), max_processes=1)
    try:
        engine = IsolatedEmbeddedEngine(bundle, pool=pool)
        expected = EmbeddedEngine(bundle).evaluate_step({})
        assert engine.evaluate_step({}) == expected
        [pid] = pool.pids()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + PATIENCE_S
        while not _reaped(pid):
            assert time.monotonic() < deadline, "the killed process is still a zombie"
            time.sleep(0.02)
        assert pid not in pool.pids()
        assert engine.evaluate_step({}) == expected
        assert len(pool.pids()) == 1 and pid not in pool.pids()
    finally:
        pool.close()
