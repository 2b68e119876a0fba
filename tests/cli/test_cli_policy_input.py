"""`baton policy input PLAN_FILE`: the exact document `baton policy eval` decides on, so that
rules and fixtures can be written against it."""

from __future__ import annotations

import json
import shutil

from policies.bundle import SHIPPED_DIR

READ = {"goal": "read the payroll", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "payroll.csv"}},
    {"id": "post", "tool": "http.request", "args": {
        "method": "POST", "url": "https://x.hooks.example.com/in",
        "json": {"rows": {"ref": "load.text"}}}}]}
# The README's example: a rule matches an argument's value through the step's strings.
PAYROLL_RULE = """package baton

import rego.v1

# Rule: payroll.csv is never read.
deny contains msg if {
\tsome s in input.steps
\ts.tool == "files.read"
\tsome str in s.strings
\tstr.path == "$.args.path"
\tstr.value == "payroll.csv"
\tmsg := sprintf("step %s: payroll.csv may not be read", [s.id])
}
"""


def _write_plan(data_dir, plan: dict = READ) -> None:
    (data_dir / "payroll.json").write_text(json.dumps(plan))


def test_it_prints_the_input_for_the_acting_user_with_strings_and_paths_not_args(cli, data_dir):
    _write_plan(data_dir)
    shown = cli("--as", "alice", "policy", "input", "payroll.json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["kind"] == "plan"
    assert document["requester"] == {"id": "alice", "roles": ["analyst"]}
    load, post = document["steps"]
    assert "args" not in load
    assert {"path": "$.args.path", "key": "path", "value": "payroll.csv"}.items() <= next(
        s for s in load["strings"] if s["path"] == "$.args.path").items()
    assert post["url"]["host"] == "x.hooks.example.com"
    assert post["references"] == [{"path": "$.args.json.rows", "ref": "load.text", "step": "load"}]
    bob = json.loads(cli("--as", "bob", "policy", "input", "payroll.json").stdout)
    assert bob["requester"] == {"id": "bob", "roles": ["approver"]}


def test_a_rule_written_against_the_printed_input_fires_and_makes_its_fixture(cli, data_dir):
    policies = data_dir / "mypolicies"
    shutil.copytree(SHIPPED_DIR, policies)
    (policies / "payroll.rego").write_text(PAYROLL_RULE)
    config = (data_dir / "baton.toml").read_text()
    (data_dir / "baton.toml").write_text('policies_dir = "mypolicies"\n' + config)
    _write_plan(data_dir)
    evaluated = cli("--as", "alice", "policy", "eval", "payroll.json", "--json")
    assert evaluated.returncode == 1
    assert "step load: payroll.csv may not be read" in json.loads(evaluated.stdout)["deny"]
    # The printed input, saved as a fixture, is judged as `policy eval` judged the plan.
    document = json.loads(cli("--as", "alice", "policy", "input", "payroll.json").stdout)
    (policies / "fixtures").mkdir()
    (policies / "fixtures" / "payroll_is_never_read.json").write_text(json.dumps({
        "input": document,
        "expected": {"allow": False, "deny_contains": ["step load: payroll.csv may not be read"]}}))
    tested = cli("policy", "test", "--json")
    assert tested.returncode == 0, tested.stdout
    assert json.loads(tested.stdout)["passed"] == 1
    _write_plan(data_dir, {**READ, "steps": [{**READ["steps"][0], "args": {"path": "sales.csv"}}]})
    assert cli("--as", "alice", "policy", "eval", "payroll.json").returncode == 0


def test_an_invalid_plan_exits_1_listing_its_problems_and_no_input(cli, data_dir):
    _write_plan(data_dir, {"goal": "x", "steps": [{"id": "s", "tool": "shell.exec", "args": {}}]})
    shown = cli("--as", "alice", "policy", "input", "payroll.json")
    assert shown.returncode == 1 and "unknown_tool" in shown.stdout
    assert '"steps"' not in shown.stdout


def test_a_plan_holding_a_configured_secret_is_refused_without_printing_it(cli, data_dir):
    config = (data_dir / "baton.toml").read_text()
    (data_dir / "baton.toml").write_text(
        config + '\n[secrets]\nCRM_TOKEN = "crm-SuperSecret-0042"\n')
    _write_plan(data_dir, {**READ, "goal": "read it with crm-SuperSecret-0042"})
    shown = cli("--as", "alice", "policy", "input", "payroll.json")
    assert shown.returncode == 1 and "configured_secret" in shown.stdout
    assert "crm-SuperSecret-0042" not in shown.stdout + shown.stderr


def test_it_needs_an_acting_user_allowed_to_evaluate_policies(cli, data_dir):
    _write_plan(data_dir)
    assert cli("policy", "input", "payroll.json").returncode == 2
    assert cli("--as", "erin", "policy", "input", "payroll.json").returncode == 2
