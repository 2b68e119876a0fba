"""``baton policy test`` in a workspace whose settings override [policy.data] (the demo's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from baton.usecases.demo_workspace import prepare_workspace


def policy_test(cwd: Path) -> subprocess.CompletedProcess[str]:
    """``baton policy test --json`` run in ``cwd``, as a user would."""
    return subprocess.run([sys.executable, "-m", "baton", "policy", "test", "--json"], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200"})


def test_policy_test_passes_in_the_demo_workspace_whose_allowlist_is_narrower(tmp_path):
    workspace = prepare_workspace(tmp_path / "demo")
    assert "egress_allowlist" in workspace.settings.policy_data
    done = policy_test(workspace.root)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["failed"] == 0 and report["passed"] >= 45
    assert report["policy_data_applied"] is False


def test_policy_test_says_when_the_settings_data_is_set_aside(tmp_path):
    prepare_workspace(tmp_path / "demo")
    done = subprocess.run([sys.executable, "-m", "baton", "policy", "test"], cwd=tmp_path / "demo",
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[policy.data]" in done.stdout
