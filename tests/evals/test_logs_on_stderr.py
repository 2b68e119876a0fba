"""Log lines of an eval go to stderr, so stdout holds only the printed table."""

from __future__ import annotations

import subprocess
import sys


def test_policy_eval_logs_stay_out_of_the_table(tmp_path):
    done = subprocess.run([sys.executable, "-m", "evals.policies",
                           "--opa-url", "http://127.0.0.1:9"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "policy.engine_failed" in done.stderr


def test_planner_eval_stdout_is_only_the_table(tmp_path):
    done = subprocess.run([sys.executable, "-m", "evals.planner", "--dataset", "bfcl",
                           "--planner", "gold", "--limit", "1", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == (tmp_path / "out" / "bfcl-gold.md").read_text()
