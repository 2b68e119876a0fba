"""Configured secrets reach a tool only after the runtime check allowed their destination; never the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli_in_process import in_process_baton

TOKEN = "tok-9f3c1e77aa50b2d4"
CONFIG = f"""
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]

[secrets]
API_TOKEN = "{TOKEN}"

[policy.data]
egress_allowlist = ["127.0.0.1", "localhost"]

[policy.data.secret_destinations]
API_TOKEN = ["127.0.0.1"]
"""


Baton = Callable[..., subprocess.CompletedProcess[str]]


def baton_process(*args: str, user: str = "alice") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "BATON_USER": user}
    return subprocess.run([sys.executable, "-m", "baton", *args], capture_output=True, text=True,
                          timeout=120, check=False, env=env)


@pytest.fixture
def baton(capsys) -> Iterator[Baton]:
    """What ``baton_process`` gives, from the CLI run in-process (a process costs about 1 s)."""
    with in_process_baton(capsys) as run:
        def as_user(*args: str, user: str = "alice") -> subprocess.CompletedProcess[str]:
            return run(*args, env={"COLUMNS": "200", "BATON_USER": user})

        yield as_user


def approve(baton: Baton, data_dir: Path, plan: dict) -> str:
    (data_dir / "plan.json").write_text(json.dumps(plan))
    planned = baton("plan", "--file", "plan.json", "--json")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    approved = baton("approve", plan_id, user="bob")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    return plan_id


def post(url: object) -> dict:
    return {"id": "send", "tool": "http.request", "args": {
        "method": "POST", "url": url, "json": {"hello": "world"},
        "headers": {"Authorization": "Bearer ${secret:API_TOKEN}"}}}


@pytest.fixture
def configured(data_dir: Path) -> Path:
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    return data_dir


def test_a_secret_goes_to_its_allowed_host_and_only_its_marker_is_recorded(baton, configured,
                                                                          http_server):
    plan_id = approve(baton, configured,
                      {"goal": "notify the hook", "steps": [post(http_server.url("/hook"))]})
    # A process of its own: the token must be in none of what the real command prints.
    done = baton_process("run", plan_id, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    (request,) = http_server.requests("/hook")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    shown = baton("runs", "show", json.loads(done.stdout)["id"], "--json")
    assert shown.returncode == 0 and TOKEN not in shown.stdout
    ledger = baton("audit", "show", "--json")
    assert ledger.returncode == 0, ledger.stderr
    assert TOKEN not in ledger.stdout and "${secret:API_TOKEN}" in ledger.stdout
    assert TOKEN not in done.stdout + done.stderr
    assert baton("audit", "verify").returncode == 0


def test_a_secret_bound_for_a_host_outside_its_destinations_is_denied_at_run_time(baton, configured,
                                                                                  http_server):
    # The URL comes from another step, so only the runtime check sees the real host.
    other = http_server.url("/hook").replace("127.0.0.1", "localhost")
    (configured / "ws" / "target.txt").write_text(other)
    plan_id = approve(baton, configured, {"goal": "notify the configured hook", "steps": [
        {"id": "target", "tool": "files.read", "args": {"path": "target.txt"}},
        post({"ref": "target.text"}) | {"depends_on": ["target"]}]})
    done = baton("run", plan_id, "--json")
    assert done.returncode == 1
    assert http_server.count() == 0
    runs = json.loads(baton("runs", "list", "--json").stdout)
    shown = json.loads(baton("runs", "show", runs[0]["id"], "--json").stdout)
    send = next(s for s in shown["steps"] if s["step_id"] == "send")
    assert send["status"] == "failed"
    assert "secret API_TOKEN may not be sent to host localhost" in send["error"]
    assert TOKEN not in json.dumps(shown)
