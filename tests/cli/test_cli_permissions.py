"""The CLI refuses what the API refuses: the one role → action table, checked before any work."""

from __future__ import annotations

import json

import pytest
import typer

from baton.cli.main import app
from policies import fixtures_runner

# Written out by hand, like the API's table in tests/api/test_api_flow.py, plus the CLI-only
# template actions: a change to the table must be deliberate.
ALLOWED = {
    "alice": {"plan.read", "plan.create", "plan.revise", "run.read", "run.start", "run.cancel",
              "tools.read", "policy.decide", "ledger.read", "template.read", "template.add"},
    "bob": {"plan.read", "plan.revise", "plan.approve", "plan.reject", "run.read", "run.start",
            "run.cancel", "tools.read", "policy.decide", "ledger.read", "template.read"},
    "dave": {"plan.read", "run.read", "tools.read", "policy.decide", "ledger.read",
             "template.read"},
    "erin": set(),
    "root": {"plan.read", "plan.create", "plan.revise", "plan.approve", "plan.reject", "run.read",
             "run.start", "run.cancel", "tools.read", "policy.decide", "ledger.read",
             "template.read", "template.add"},
}
ROLES = {"alice": "analyst", "bob": "approver", "dave": "auditor", "erin": "no roles",
         "root": "admin"}

# Every CLI command that acts as the user, by the action it performs.
COMMANDS: dict[str, list[list[str]]] = {
    "plan.read": [["plans", "list"], ["plans", "show", "{plan}"]],
    "plan.create": [["plan", "--file", "write.json"], ["plan", "Copy a.csv to c.csv"]],
    "plan.revise": [["revise", "{plan}", "write to c.csv instead"]],
    "plan.approve": [["approve", "{plan}"]],
    "plan.reject": [["reject", "{plan}", "--reason", "not now"]],
    "run.read": [["runs", "list"], ["runs", "show", "r-000000000000"]],
    "run.start": [["run", "{plan}"], ["run", "{plan}", "--detach"], ["resume", "r-000000000000"]],
    "run.cancel": [["cancel", "r-000000000000"]],
    "tools.read": [["tools", "list"], ["tools", "show", "files.read"]],
    "policy.decide": [["policy", "eval", "write.json"], ["policy", "input", "write.json"],
                      ["policy", "show"], ["policy", "test"]],
    "ledger.read": [["audit", "verify"], ["audit", "show"],
                    ["audit", "export", "--out", "x.jsonl"]],
    "template.read": [["templates", "list"], ["templates", "show", "copy-file"]],
    "template.add": [["templates", "add", "template.yaml"],
                     ["templates", "add", "--from-plan", "{plan}", "--name", "copy-it"]],
}
# Commands that act as nobody: they read only the installation, set it up, or (the worker)
# carry on runs a permitted user started, like the server's own worker.
ACTS_AS_NOBODY = {"validate", "schema plan", "serve", "token", "demo", "worker"}


def _refusal(user: str, action: str) -> str:
    return f"user {user!r} ({ROLES[user]}) may not {action}"


def _first_fixture_only(engine, directory):
    return [fixtures_runner.run_fixture(engine, fixtures_runner.load_fixtures(directory)[0])]


@pytest.mark.parametrize("user", sorted(ALLOWED))
def test_each_role_may_do_exactly_its_actions_from_the_cli(cli, plan_id, user, monkeypatch):
    # What is asked here is whether each command gets past the role check, which comes
    # before any work: `policy test` runs one fixture, not all (about 1 s, once per role).
    monkeypatch.setattr(fixtures_runner, "run_fixtures", _first_fixture_only)
    # Refusals first: an allowed command may change the plan (approve, run) under a later one.
    calls = sorted(((action, argv) for action, argvs in COMMANDS.items() for argv in argvs),
                   key=lambda call: call[0] in ALLOWED[user])
    wrong = []
    for action, argv in calls:
        done = cli("--as", user, *[a.replace("{plan}", plan_id) for a in argv])
        refused = done.returncode == 2 and _refusal(user, action) in done.stderr
        if refused == (action in ALLOWED[user]) or (not refused and "may not" in done.stderr):
            wrong.append((action, argv, done.returncode, done.stderr))
    assert wrong == []


def test_a_refusal_is_one_line_naming_user_role_action_and_who_may(cli, plan_id):
    refused = cli("--as", "dave", "run", plan_id)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip() == ("error: user 'dave' (auditor) may not run.start; "
                                      "that needs the role analyst or approver or admin")


def test_a_refused_command_changes_nothing(cli, plan_id):
    assert cli("--as", "bob", "plan", "Copy a.csv to c.csv").returncode == 2
    assert cli("--as", "bob", "templates", "add", "template.yaml").returncode == 2
    assert cli("--as", "root", "approve", plan_id).returncode == 0
    assert cli("--as", "dave", "run", plan_id).returncode == 2
    assert cli("--as", "alice", "approve", plan_id).returncode == 2
    plans = json.loads(cli("plans", "list", "--json").stdout)
    assert [p["plan_id"] for p in plans] == [plan_id]
    assert json.loads(cli("runs", "list", "--json").stdout) == []
    templates = {t["name"] for t in json.loads(cli("templates", "list", "--json").stdout)}
    assert "read-one" not in templates
    ledger = json.loads(cli("audit", "show", "--json").stdout)
    assert {e["actor"] for e in ledger} <= {"alice", "root", "policy"}


def test_reads_without_an_acting_user_still_work(cli, plan_id):
    for argv in (["plans", "list"], ["runs", "list"], ["tools", "list"], ["audit", "verify"],
                 ["templates", "list"]):
        done = cli(*argv)
        assert done.returncode == 0, (argv, done.stderr)


def test_an_action_still_needs_an_acting_user(cli, plan_id):
    done = cli("approve", plan_id)
    assert done.returncode == 2 and "no acting user" in done.stderr



def _command_names(command, prefix: str = "") -> set[str]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        return {prefix.strip()}
    return {name for sub_name, sub in subcommands.items()
            for name in _command_names(sub, f"{prefix}{sub_name} ")}


def test_every_cli_command_is_checked_against_the_table_or_acts_as_nobody():
    every = _command_names(typer.main.get_command(app))
    mapped = set()
    for argvs in COMMANDS.values():
        for argv in argvs:
            mapped |= {name for name in every if argv[:len(name.split())] == name.split()}
    assert every == mapped | ACTS_AS_NOBODY
