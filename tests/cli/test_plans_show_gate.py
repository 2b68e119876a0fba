"""``baton plans show`` prints a version's policy decision and where it stands at the gate,
as ``baton plan`` does at planning time and the API's plan detail does: an approver on the
command line had no other way to see who approved and what is still needed."""

from __future__ import annotations

import json


def _shown(cli, plan_id: str, *args: str) -> tuple[str, dict]:
    text = cli("--as", "dave", "plans", "show", plan_id, *args)
    shown = cli("--as", "dave", "plans", "show", plan_id, *args, "--json")
    assert text.returncode == 0 and shown.returncode == 0, text.stderr + shown.stderr
    return " ".join(text.stdout.split()), json.loads(shown.stdout)


def test_a_pending_version_shows_its_decision_and_the_approvals_it_still_needs(cli, plan_id):
    text, shown = _shown(cli, plan_id)
    assert "policy: NEEDS APPROVAL" in text
    assert "gate: pending — needs 1 more approval(s) from a user with role approver" in text
    assert shown["decision"]["allow"] is True and shown["decision"]["approvals"]["count"] == 1
    assert shown["gate"]["status"] == "pending" and shown["gate"]["missing_count"] == 1
    assert shown["status"] == "pending_approval"  # the version's own fields are kept


def test_an_approved_version_shows_who_approved_it(cli, plan_id):
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    text, shown = _shown(cli, plan_id)
    assert "gate: approved" in text and "✓ approved by bob" in text
    assert [a["actor"] for a in shown["gate"]["valid_approvals"]] == ["bob"]


def test_a_rejected_version_shows_the_reason(cli, plan_id):
    assert cli("--as", "bob", "reject", plan_id, "--reason", "wrong file").returncode == 0
    text, shown = _shown(cli, plan_id)
    assert "gate: rejected" in text and "wrong file" in text
    assert shown["gate"]["status"] == "rejected"


def test_an_earlier_version_shows_its_own_decision(cli, plan_id):
    revised = cli("--as", "alice", "plan", "--file", "write.json", "--json")
    assert revised.returncode == 0, revised.stderr
    text, shown = _shown(cli, plan_id, "--version", "1")
    assert shown["version"] == 1 and shown["gate"]["status"] == "pending"
    assert "policy: NEEDS APPROVAL" in text


def test_a_version_without_a_decision_shows_none(cli):
    with open("bad.json", "w", encoding="utf-8") as bad:
        json.dump({"goal": "g", "steps": [{"id": "x", "tool": "no.such", "args": {}}]}, bad)
    planned = cli("--as", "alice", "plan", "--file", "bad.json", "--json")
    assert planned.returncode == 1
    plan_id = json.loads(planned.stdout)["plan_id"]
    text, shown = _shown(cli, plan_id)
    assert shown["decision"] is None and shown["gate"] is None
    assert "policy:" not in text and "gate:" not in text


def test_an_approval_that_no_longer_counts_is_named_not_only_counted(cli, plan_id):
    # The text said "needs 1 more approval(s)" and never why: bob's approval had lapsed.
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    config = open("baton.toml", encoding="utf-8").read()
    with open("baton.toml", "w", encoding="utf-8") as changed:
        changed.write(config.replace('[users.bob]\nroles = ["approver"]',
                                     '[users.bob]\nroles = ["analyst"]'))
    text, shown = _shown(cli, plan_id)
    assert shown["gate"]["status"] == "pending"
    lapsed = [r for r in shown["gate"]["reasons"] if "bob" in r]
    assert lapsed and " ".join(lapsed[0].split()) in text
    assert text.count("needs 1 more approval(s)") == 1  # the pending line, not repeated
