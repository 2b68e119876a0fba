"""``baton plans show`` says when a version's decision will be taken again before its
approval or run (text and ``--json``), reading it without deciding or writing anything."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import CONFIG

STALE = "decision: to be taken again before approval or run:"


def _settings(config: str) -> None:
    Path("baton.toml").write_text(config)


def _shown(cli, plan_id: str) -> tuple[str, dict]:
    text = cli("--as", "bob", "plans", "show", plan_id)
    shown = cli("--as", "bob", "plans", "show", plan_id, "--json")
    assert text.returncode == 0 and shown.returncode == 0, text.stderr + shown.stderr
    return text.stdout, json.loads(shown.stdout)


def _event_count(cli) -> int:
    return len(json.loads(cli("--as", "dave", "audit", "show", "--limit", "10000",
                              "--json").stdout))


def test_an_unchanged_setup_shows_the_decision_standing(cli, plan_id):
    text, shown = _shown(cli, plan_id)
    assert STALE not in text and shown["decision_stale"] is None
    assert shown["status"] == "pending_approval"  # the version's own fields are as they were


def test_a_requester_whose_roles_changed_sees_why_without_anything_written(cli, plan_id):
    before = _event_count(cli)
    _settings(CONFIG.replace('[users.alice]\nroles = ["analyst"]',
                             '[users.alice]\nroles = ["analyst", "auditor"]'))
    text, shown = _shown(cli, plan_id)
    assert STALE in text and "requester's or author's roles" in text
    why = shown["decision_stale"]
    assert why.startswith(f"what the policies judge plan {plan_id} v1 on changed")
    assert " ".join(why.split()) in " ".join(text.split())
    assert shown["status"] == "pending_approval"
    assert _event_count(cli) == before


def test_changed_policies_show_why(cli, plan_id):
    _settings(CONFIG + '\n[policy.data]\negress_allowlist = ["api.internal.example"]\n')
    text, shown = _shown(cli, plan_id)
    assert STALE in text and shown["decision_stale"].startswith("the policies changed since")


def test_a_rejected_version_shows_nothing(cli, plan_id):
    assert cli("--as", "bob", "reject", plan_id, "--reason", "no").returncode == 0
    _settings(CONFIG + '\n[policy.data]\negress_allowlist = ["api.internal.example"]\n')
    text, shown = _shown(cli, plan_id)
    assert STALE not in text and shown["decision_stale"] is None
