"""Fixtures of the CLI tests: an in-process ``baton`` over a workspace with one user per role."""

from __future__ import annotations

import json

import pytest

from tests.support.cli_in_process import in_process_baton

CONFIG = """
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]

[users.dave]
roles = ["auditor"]

[users.erin]
roles = []

[users.root]
roles = ["admin"]
"""
WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "b.csv", "text": {"ref": "load.text"}}}]}
TEMPLATE = ("name: read-one\nexample_goals: ['Read notes.txt']\npatterns: ['read {path}']\n"
            "params: [{name: path, pattern: '^[a-z.]+$'}]\n"
            "plan: {steps: [{id: load, tool: files.read, args: {path: '{{path}}'}}]}\n")


@pytest.fixture
def cli(data_dir, capsys):
    """Run ``baton`` in-process in a fresh directory holding the users, a plan file, a template."""
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    (data_dir / "ws" / "a.csv").write_text("region,total\nnorth,3\n")
    (data_dir / "write.json").write_text(json.dumps(WRITE_PLAN))
    (data_dir / "template.yaml").write_text(TEMPLATE)
    with in_process_baton(capsys) as run:
        yield run


@pytest.fixture
def plan_id(cli) -> str:
    """A plan alice asked for, waiting at the gate."""
    planned = cli("--as", "alice", "plan", "--file", "write.json", "--json")
    assert planned.returncode == 0, planned.stderr
    return json.loads(planned.stdout)["plan_id"]


@pytest.fixture
def llm_cli(data_dir, monkeypatch, capsys, openai_server):
    """The ``cli`` fixture's workspace, planning with the scripted model."""
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    (data_dir / "write.json").write_text(json.dumps(WRITE_PLAN))
    monkeypatch.setenv("BATON_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("BATON_LLM_MODEL", "scripted")
    with in_process_baton(capsys) as run:
        yield run
