"""``plans list --status S`` matching no plan says so, not that there are no plans yet.

With plans stored, none of them denied, ``--status denied`` printed "no plans yet: baton plan
"GOAL"", as if the workspace were empty.
"""

from __future__ import annotations

import json


def test_a_status_no_plan_has_is_named_not_taken_for_an_empty_workspace(cli, plan_id):
    done = cli("plans", "list", "--status", "denied")
    assert done.returncode == 0, done.stderr
    assert "no plans yet" not in done.stdout
    assert " ".join(done.stdout.split()) == "no plan's latest version has status denied"
    assert json.loads(cli("plans", "list", "--status", "denied", "--json").stdout) == []


def test_no_plan_waiting_for_approval_is_said_in_those_words(cli, plan_id):
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    done = cli("plans", "list", "--status", "pending_approval")
    assert done.returncode == 0, done.stderr
    assert " ".join(done.stdout.split()) == "no plan waits for approval"

