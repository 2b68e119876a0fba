"""``baton plans list --status pending_approval`` lists what waits for approval as the web
queue does: an approved version whose approval lapsed (it expired, or its approver lost the
role) is among it, marked with why, unless it ran to success (approvals always expire: every
version ever run came back); every listing marks such a version the same way."""

from __future__ import annotations

import json
import os

import pytest

from baton.cli.common import console


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    """Print wide enough for the mark to stay on one line (narrow tables wrap it)."""
    monkeypatch.setattr(console, "_width", 200)


def _listed(cli, *args: str) -> tuple[str, dict[str, dict]]:
    text = cli("--as", "root", "plans", "list", *args)
    shown = cli("--as", "root", "plans", "list", *args, "--json")
    assert text.returncode == 0 and shown.returncode == 0, text.stderr + shown.stderr
    return " ".join(text.stdout.split()), {r["plan_id"]: r for r in json.loads(shown.stdout)}


def _edit_config(old: str, new: str) -> None:
    with open("baton.toml", encoding="utf-8") as config:
        text = config.read()
    assert old in text
    with open("baton.toml", "w", encoding="utf-8") as config:
        config.write(text.replace(old, new))


def test_a_version_whose_approver_lost_the_role_waits_again_marked(cli, plan_id):
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    _edit_config('[users.bob]\nroles = ["approver"]', '[users.bob]\nroles = ["analyst"]')
    text, rows = _listed(cli, "--status", "pending_approval")
    assert list(rows) == [plan_id]
    assert rows[plan_id]["status"] == "approved"  # as stored: the mark says why it is back
    assert rows[plan_id]["approval_lapsed"] == "approval lapsed (approver lost role)"
    assert "approval lapsed (approver lost role)" in text


def test_a_version_whose_approval_expired_waits_again_marked(cli, plan_id):
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    _, rows = _listed(cli, "--status", "pending_approval")
    assert rows == {}  # the approval counts: nothing waits
    _expire_every_approval()
    text, rows = _listed(cli, "--status", "pending_approval")
    assert rows[plan_id]["approval_lapsed"] == "approval lapsed (expired)"
    assert "approval lapsed (expired)" in text
    text, rows = _listed(cli)
    assert rows[plan_id]["approval_lapsed"] == "approval lapsed (expired)"
    assert "approval lapsed (expired)" in text


def test_a_pending_version_is_listed_unmarked(cli, plan_id):
    _, rows = _listed(cli, "--status", "pending_approval")
    assert rows[plan_id]["status"] == "pending_approval"
    assert rows[plan_id]["approval_lapsed"] is None


def _expire_every_approval() -> None:
    _edit_config('workspace = "ws"\n', 'workspace = "ws"\napproval_ttl_s = 0.001\n')


def _runs_of(cli, plan_id: str) -> list[str]:
    """The statuses of ``plan_id``'s runs."""
    listed = cli("--as", "root", "runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return [r["status"] for r in json.loads(listed.stdout) if r["plan_id"] == plan_id]


def test_a_version_that_ran_to_success_no_longer_waits_once_its_approval_expired(cli, plan_id):
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    assert cli("--as", "alice", "run", plan_id).returncode == 0
    assert _runs_of(cli, plan_id) == ["succeeded"]
    _expire_every_approval()
    text, rows = _listed(cli, "--status", "pending_approval")
    assert rows == {} and "approval lapsed" not in text
    text, rows = _listed(cli)
    assert rows[plan_id]["approval_lapsed"] == "approval lapsed (expired)"
    assert "approval lapsed (expired)" in text
    _, rows = _listed(cli, "--status", "approved")
    assert rows[plan_id]["approval_lapsed"] == "approval lapsed (expired)"


def test_a_version_whose_run_failed_waits_again_once_its_approval_expired(cli, plan_id):
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    os.remove("ws/a.csv")  # the first step cannot read its file: the run fails
    assert cli("--as", "alice", "run", plan_id).returncode != 0
    assert _runs_of(cli, plan_id) == ["failed"]
    _expire_every_approval()
    text, rows = _listed(cli, "--status", "pending_approval")
    assert list(rows) == [plan_id]
    assert rows[plan_id]["approval_lapsed"] == "approval lapsed (expired)"
    assert "approval lapsed (expired)" in text


def test_running_it_again_once_its_approval_expired_says_an_approver_must_approve_again(
        cli, plan_id):
    """It waits in nobody's queue: whoever wants it run again learns what to ask for."""
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    assert cli("--as", "alice", "run", plan_id).returncode == 0
    _expire_every_approval()
    refused = cli("--as", "alice", "run", plan_id)
    message = " ".join(refused.stderr.split())
    assert refused.returncode != 0 and _runs_of(cli, plan_id) == ["succeeded"]
    assert f"plan {plan_id} v1 may not run: its approval lapsed (bob's approval expired on " \
        in message, message
    assert "UTC); an approver must approve v1 again: needs 1 more approval(s)" in message
