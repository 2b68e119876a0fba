"""`baton demo` in a subprocess from a fresh directory: exit 0, story told, nothing left outside."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BATON = [sys.executable, "-m", "baton"]


def _env(tmp_path: Path) -> dict[str, str]:
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "OPENAI_"))}
    env.update(HOME=str(home), TMPDIR=str(tmp), COLUMNS="120", NO_COLOR="1")
    return env


def test_demo_tours_the_whole_flow_and_writes_only_its_workspace(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = _env(tmp_path)
    result = subprocess.run([*BATON, "demo"], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for line in ("policy: NEEDS APPROVAL", "policy: DENIED",
                 "host webhook.example.net is not on the egress allowlist",
                 "refused (self_approval)", "bob (approver) reviews plan", "gate: approved",
                 "step save succeeded", "audit verify: OK", "Demo complete."):
        assert line in out, f"missing {line!r} in:\n{out}"
    assert '"north":226.75' in out
    assert list(cwd.iterdir()) == []
    assert list((tmp_path / "home").iterdir()) == []
    workspaces = list((tmp_path / "tmp").iterdir())
    assert len(workspaces) == 1 and workspaces[0].name.startswith("baton-demo-")
    assert (workspaces[0] / "files" / "summary.json").is_file()


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine", encoding="utf-8")
    result = subprocess.run([*BATON, "demo", "--dir", str(target)], cwd=tmp_path,
                            env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "not a new or empty directory" in result.stderr
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_the_next_steps_the_demo_prints_work_as_printed(tmp_path):
    workspace = tmp_path / "ws"
    env = {**_env(tmp_path), "COLUMNS": "60"}
    result = subprocess.run([*BATON, "demo", "--dir", str(workspace)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert f"cd {workspace}" in lines
    assert f"baton --config {workspace / 'baton.toml'} serve" in lines
    plan_line = next(line for line in lines if line.startswith("baton --as alice plan "))
    args = plan_line.removeprefix("baton ").split(" ", 3)
    planned = subprocess.run([*BATON, *args[:3], args[3].strip('"')], cwd=workspace, env=env,
                             capture_output=True, text=True, timeout=120)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "pending_approval" in planned.stdout
