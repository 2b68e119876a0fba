"""`baton validate` and `baton policy eval` report a configured secret's value written into a
plan file as `baton plan --file` does (`configured_secret`, exit 1), never printing the value."""

from __future__ import annotations

import json

import pytest

TOKEN = "crm-SuperSecret-0042"
PLAN = {"goal": f"post the note with {TOKEN}", "steps": [
    {"id": "send", "tool": "http.request", "args": {
        "method": "POST", "url": "https://api.internal.example/in",
        "headers": {"X-Token": TOKEN}, "body": "hello"}}]}
EXPECTED = [("configured_secret", None, "$.goal"),
            ("configured_secret", "send", "$.steps[0].args.headers.X-Token")]


@pytest.fixture
def secret_cli(cli, data_dir):
    """The CLI with CRM_TOKEN configured and a plan file holding its value."""
    config = (data_dir / "baton.toml").read_text()
    (data_dir / "baton.toml").write_text(config + f'\n[secrets]\nCRM_TOKEN = "{TOKEN}"\n'
                                         'PIN = "1234"\n')
    (data_dir / "leak.json").write_text(json.dumps(PLAN))
    return cli


def _problems(stdout: str) -> list[tuple]:
    return [(p["code"], p["step"], p["path"]) for p in json.loads(stdout)["problems"]]


def test_validate_reports_the_value_of_a_configured_secret_without_printing_it(secret_cli):
    shown = secret_cli("validate", "leak.json")
    assert shown.returncode == 1
    text = " ".join(shown.stdout.split())
    assert "invalid plan, 2 problem(s)" in text
    assert "configured_secret step send at $.steps[0].args.headers.X-Token" in text
    assert "configured secret CRM_TOKEN" in text and "${secret:CRM_TOKEN}" in text
    assert TOKEN not in shown.stdout + shown.stderr
    as_json = secret_cli("validate", "leak.json", "--json")
    assert as_json.returncode == 1 and _problems(as_json.stdout) == EXPECTED
    assert TOKEN not in as_json.stdout + as_json.stderr


def test_policy_eval_refuses_it_as_an_invalid_plan_without_deciding(secret_cli):
    evaluated = secret_cli("--as", "alice", "policy", "eval", "leak.json")
    assert evaluated.returncode == 1
    assert "configured_secret" in evaluated.stdout and "policy:" not in evaluated.stdout
    assert TOKEN not in evaluated.stdout + evaluated.stderr
    as_json = secret_cli("--as", "alice", "policy", "eval", "leak.json", "--json")
    assert as_json.returncode == 1 and _problems(as_json.stdout) == EXPECTED
    assert TOKEN not in as_json.stdout


def test_the_problems_are_the_ones_plan_file_reports(secret_cli):
    planned = secret_cli("--as", "alice", "plan", "--file", "leak.json", "--json")
    assert planned.returncode == 1
    stored = {(p["code"], p["step"], p["path"], p["message"])
              for p in json.loads(planned.stdout)["problems"]}
    validated = secret_cli("validate", "leak.json", "--json")
    assert {(p["code"], p["step"], p["path"], p["message"])
            for p in json.loads(validated.stdout)["problems"]} == stored


def test_a_validation_message_quoting_the_value_is_masked(secret_cli, data_dir):
    plan = {"goal": "post it", "steps": [{"id": "send", "tool": TOKEN, "args": {}}]}
    (data_dir / "tool.json").write_text(json.dumps(plan))
    shown = secret_cli("validate", "tool.json", "--json")
    assert shown.returncode == 1 and TOKEN not in shown.stdout + shown.stderr
    codes = [p["code"] for p in json.loads(shown.stdout)["problems"]]
    assert "configured_secret" in codes and len(codes) >= 2


def test_a_secret_too_short_to_tell_from_words_leaves_the_plan_valid(secret_cli, data_dir):
    plan = {"goal": "read room 1234's notes", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]}
    (data_dir / "short.json").write_text(json.dumps(plan))
    shown = secret_cli("validate", "short.json")
    assert shown.returncode == 0, shown.stdout
