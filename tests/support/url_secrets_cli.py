"""What the CLI tests of secrets written into URLs share: the database dumped as text (where a
secret must never appear), the views a ``baton`` user gets of a plan, a policies directory
without one rule, and ``baton`` in-process with the LLM planner on the scripted endpoint."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_in_process import in_process_baton
from tests.support.custom_policies import own_bundle
from tests.support.openai_server import Completion


def words(text: str) -> str:
    """``text`` with every run of white space one space (messages wrap where they will)."""
    return " ".join(text.split())


def table_rows(db: Path, table: str | None = None) -> str:
    """Every row of ``table`` (every table: None) of the SQLite database ``db``, as text."""
    with sqlite3.connect(db) as conn:
        tables = [table] if table else [row[0] for row in conn.execute(
            "select name from sqlite_master where type = 'table'")]
        return "\n".join(repr(row) for name in tables
                         for row in conn.execute(f'select * from "{name}"'))


def auditor_views(cli, plan_id: str) -> list:
    """Every view dave (an auditor) gets of the plan, its ledger events and the export, each
    checked to have succeeded."""
    views = [cli("--as", "dave", *args) for args in (
        ("plans", "show", plan_id), ("plans", "show", plan_id, "--json"),
        ("plans", "list"), ("plans", "list", "--json"),
        ("audit", "show", "--subject", plan_id), ("audit", "show", "--json", "--subject", plan_id),
        ("audit", "export"))]
    for view in views:
        assert view.returncode == 0, view.stderr
    return views


def use_secrets_rules(data_dir: Path, rules: str) -> None:
    """Make ``rules`` the ``secrets.rego`` of a policies directory ``baton.toml`` names."""
    own = own_bundle(data_dir, {"secrets.rego": rules})
    config = (data_dir / "baton.toml").read_text()
    (data_dir / "baton.toml").write_text(f'policies_dir = "{own}"\n' + config)


@contextmanager
def llm_baton(data_dir: Path, monkeypatch, capsys, openai_server,
              settings: str = "") -> Iterator[Any]:
    """``baton`` in-process as alice (analyst; dave is an auditor), the LLM planner on the
    scripted endpoint, ``settings`` (TOML: ``[secrets]``, ``[llm]``…) added to baton.toml."""
    (data_dir / "baton.toml").write_text(
        '[users.alice]\nroles = ["analyst"]\n\n[users.dave]\nroles = ["auditor"]\n'
        + (f"\n{settings}" if settings else ""), encoding="utf-8")
    monkeypatch.setenv("BATON_DATA_DIR", str(data_dir / "data"))
    monkeypatch.setenv("BATON_USER", "alice")
    monkeypatch.setenv("BATON_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("BATON_LLM_MODEL", "scripted")
    with in_process_baton(capsys) as run:
        yield run


@pytest.fixture
def baton(data_dir, monkeypatch, capsys, openai_server):
    """Run ``baton`` in-process with the LLM planner pointed at the scripted endpoint."""
    with llm_baton(data_dir, monkeypatch, capsys, openai_server) as run:
        yield run


def fetch_reply(url: str) -> Completion:
    """The model's plan: it fetches ``url`` (as it was shown the goal's)."""
    step = {"id": "fetch", "tool": "http.request", "why": f"read {url}", "depends_on": [],
            "args_json": json.dumps({"method": "GET", "url": url}), "retry": None,
            "timeout_s": None}
    return Completion(content=json.dumps({"steps": [step]}))


def note_plan_tried(cli, data_dir: Path, text: str) -> tuple[dict, tuple]:
    """Plan (alice, from a file) one step that writes ``text`` to note.txt, then try to approve
    it (bob) and run it (alice): the version as ``plan --json`` printed it, and the three
    outputs (plan, approve, run)."""
    plan = {"goal": "note the link", "steps": [
        {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": text}}]}
    (data_dir / "note.json").write_text(json.dumps(plan))
    planned = cli("--as", "alice", "plan", "--json", "--file", "note.json")
    version = json.loads(planned.stdout)
    approved = cli("--as", "bob", "approve", version["plan_id"])
    ran = cli("--as", "alice", "run", version["plan_id"])
    return version, (planned, approved, ran)
