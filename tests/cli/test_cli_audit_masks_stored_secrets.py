"""`baton audit show` and `export` mask a value stored in the ledger before it was configured
as a secret; `baton audit verify` still checks the stored payloads, and passes."""

from __future__ import annotations

import json

import pytest

from tools.redaction import REDACTED

TOKEN = "tok-live-5f1e2d3c4b"
NOTE = {"goal": f"write the note for {TOKEN}", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": "hello"}}]}


@pytest.fixture
def stored(cli, data_dir):
    """The note plan stored, approved with a comment and run, all holding TOKEN; then TOKEN is
    configured as a secret."""
    (data_dir / "note.json").write_text(json.dumps(NOTE))
    planned = cli("--as", "alice", "plan", "--file", "note.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    assert cli("--as", "bob", "approve", plan_id, "--comment", f"ok {TOKEN}").returncode == 0
    assert TOKEN in cli("audit", "show", "--json").stdout
    config = (data_dir / "baton.toml").read_text()
    (data_dir / "baton.toml").write_text(config + f'\n[secrets]\nNOTE_TOKEN = "{TOKEN}"\n')


def test_audit_show_and_export_mask_the_value_and_verify_still_passes(cli, stored):
    for args in (("audit", "show", "--json"), ("audit", "show", "--limit", "5"),
                 ("audit", "export"), ("audit", "export", "--format", "cloudevents")):
        shown = cli(*args)
        assert shown.returncode == 0, (args, shown.stderr)
        assert TOKEN not in shown.stdout and REDACTED in shown.stdout, args
    events = json.loads(cli("audit", "show", "--json").stdout)
    assert any(e["payload"].get("comment") == f"ok {REDACTED}" for e in events)
    verified = cli("audit", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"]
