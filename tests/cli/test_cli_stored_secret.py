"""`baton plans show|list` of a plan stored before its secret was configured show it masked;
`baton run` refuses it."""

from __future__ import annotations

import json

import pytest

from tools.redaction import REDACTED

TOKEN = "tok-live-5f1e2d3c4b"
NOTE = {"goal": "write the note", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": f"token {TOKEN}"}}]}


@pytest.fixture
def stored(cli, data_dir) -> dict:
    """The note plan as alice stored and bob approved it; then TOKEN is configured as a secret."""
    (data_dir / "note.json").write_text(json.dumps(NOTE))
    planned = cli("--as", "alice", "plan", "--file", "note.json", "--json")
    assert planned.returncode == 0, planned.stderr
    stored = json.loads(planned.stdout)
    assert cli("--as", "bob", "approve", stored["plan_id"]).returncode == 0
    config = (data_dir / "baton.toml").read_text()  # the cli fixture's users
    (data_dir / "baton.toml").write_text(config + f'\n[secrets]\nNOTE_TOKEN = "{TOKEN}"\n')
    return stored


def test_plans_show_masks_a_value_configured_as_secret_after_the_plan_was_stored(cli, stored):
    shown = cli("--as", "dave", "plans", "show", stored["plan_id"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert TOKEN not in shown.stdout and TOKEN in json.dumps(stored)
    version = json.loads(shown.stdout)
    assert version["plan"]["steps"][0]["args"]["text"] == f"token {REDACTED}"
    assert version["plan_hash"] == stored["plan_hash"]
    tree = cli("--as", "dave", "plans", "show", stored["plan_id"])
    assert tree.returncode == 0 and f"token {REDACTED}" in tree.stdout and TOKEN not in tree.stdout
    assert stored["plan_hash"][:16] in tree.stdout


def test_plans_list_masks_it_too(cli, stored):
    listed = cli("--as", "dave", "plans", "list", "--json")
    assert listed.returncode == 0 and TOKEN not in listed.stdout and REDACTED in listed.stdout


def test_run_refuses_the_version_naming_the_step_and_path_but_not_the_value(cli, stored, data_dir):
    ran = cli("--as", "alice", "run", stored["plan_id"])
    assert ran.returncode != 0
    message = " ".join(ran.stderr.split())
    assert "may not run" in message and "step note: $.steps[0].args.text" in message
    assert "NOTE_TOKEN" in message and TOKEN not in ran.stdout + ran.stderr
    assert not (data_dir / "ws" / "note.txt").exists()
