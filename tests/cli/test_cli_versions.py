"""``--version N`` names one stored version: 0 is never "the latest", and a huge N is a usage error."""

from __future__ import annotations

import json

import pytest

HUGE = "99999999999999999999"  # past SQLite's 64-bit integers: it used to crash the lookup
COMMANDS = [
    ("bob", ["approve", "{plan}"]),
    ("bob", ["reject", "{plan}", "--reason", "not now"]),
    ("alice", ["run", "{plan}"]),
    ("alice", ["plans", "show", "{plan}"]),
    ("alice", ["templates", "show", "copy-file"]),
    ("alice", ["templates", "add", "--from-plan", "{plan}", "--name", "copy-it"]),
]


@pytest.mark.parametrize("number", ["0", "-1", HUGE])
@pytest.mark.parametrize(("user", "argv"), COMMANDS, ids=[" ".join(a[:2]) for _, a in COMMANDS])
def test_a_version_below_1_or_past_any_stored_one_is_a_usage_error(cli, plan_id, user, argv,
                                                                    number):
    done = cli("--as", user, *[a.replace("{plan}", plan_id) for a in argv], "--version", number)
    assert done.returncode == 2, (done.stdout, done.stderr)
    said = " ".join(done.stderr.replace("│", " ").split())  # the usage panel wraps its text
    assert "Invalid value for '--version': Input should be" in said, said
    assert "Traceback" not in done.stderr


def test_approve_version_0_does_not_approve_the_latest(cli, plan_id):
    assert cli("--as", "bob", "approve", plan_id, "--version", "0").returncode == 2
    shown = json.loads(cli("plans", "show", plan_id, "--json").stdout)
    assert shown["status"] == "pending_approval"
    ledger = json.loads(cli("audit", "show", "--json", "--kind", "approval").stdout)
    assert ledger == []
