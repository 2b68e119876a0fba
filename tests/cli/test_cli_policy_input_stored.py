"""`baton policy input --plan-id ID [--version N]`: the input a stored version's decision is
taken on — its requester and author as stored, the tools a reviser added, as of the decision's
time — and whether it still hashes as that decision's input.

`policy input` once read plan files only, with the acting user as requester and author: the
role rule's baseline for a reviser (`author.added_tools`) could not be shown.
"""

from __future__ import annotations

import json

from tests.support.openai_server import Completion

SECRET = "crm-SuperSecret-0042"


def _input(cli, *args: str, user: tuple[str, ...] = ()):
    shown = cli(*user, "policy", "input", *args)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout), " ".join(shown.stderr.split())


def _revised_by_bob_adding_a_request(llm_cli, openai_server, plan_id: str) -> None:
    steps = [{"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
             {"id": "send", "tool": "http.request",
              "args": {"method": "GET", "url": "https://status.example.com/ping"}}]
    openai_server.script(Completion(content=json.dumps({"steps": [
        {"id": s["id"], "tool": s["tool"], "args_json": json.dumps(s["args"]),
         "depends_on": [], "why": ""} for s in steps]})))
    llm_cli("--as", "bob", "revise", plan_id, "ping the status page instead")


def test_a_revisers_version_shows_the_tools_they_added_and_the_requesters_version_none(
        llm_cli, openai_server):
    plan_id = json.loads(llm_cli("--as", "alice", "plan", "--file", "write.json", "--json")
                         .stdout)["plan_id"]
    _revised_by_bob_adding_a_request(llm_cli, openai_server, plan_id)
    latest, note = _input(llm_cli, "--plan-id", plan_id)
    assert latest["requester"] == {"id": "alice", "roles": ["analyst"]}
    assert latest["author"]["id"] == "bob" and latest["author"]["added_tools"] == ["http.request"]
    assert [s["tool"] for s in latest["steps"]] == ["files.read", "http.request"]
    assert f"{plan_id} v2: the input its decision" in note and "hash matches" in note
    first, note = _input(llm_cli, "--plan-id", plan_id, "--version", "1")
    assert first["author"] == {"id": "alice", "roles": ["analyst"], "added_tools": []}
    assert f"{plan_id} v1:" in note and "hash matches" in note
    # What `policy eval` on the same steps as a file would show bob: himself as requester.
    assert latest["context"]["now"] != first["context"]["now"]  # each as of its own decision


def test_an_input_that_changed_since_its_decision_is_said_to_differ(cli, plan_id, data_dir):
    config = data_dir / "baton.toml"
    config.write_text(config.read_text().replace(
        '[users.alice]\nroles = ["analyst"]', '[users.alice]\nroles = ["analyst", "auditor"]'))
    document, note = _input(cli, "--plan-id", plan_id, user=("--as", "dave"))
    assert document["requester"] == {"id": "alice", "roles": ["analyst", "auditor"]}
    assert "differs from the input that decision was taken on" in note
    assert "decided again before its next approval or run" in note


def test_a_secret_configured_after_the_version_was_stored_is_masked(cli, data_dir):
    (data_dir / "secret.json").write_text(json.dumps({
        "goal": "write the note", "steps": [
            {"id": "save", "tool": "files.write", "args": {"path": "b.txt", "text": SECRET}}]}))
    planned = cli("--as", "alice", "plan", "--file", "secret.json", "--json")
    plan_id = json.loads(planned.stdout)["plan_id"]
    config = data_dir / "baton.toml"
    config.write_text(config.read_text() + f'\n[secrets]\nCRM_TOKEN = "{SECRET}"\n')
    shown = cli("policy", "input", "--plan-id", plan_id)
    assert shown.returncode == 0, shown.stderr
    assert SECRET not in shown.stdout + shown.stderr
    (save,) = json.loads(shown.stdout)["steps"]
    assert [s["value"] for s in save["strings"] if s["path"] == "$.args.text"] == ["[REDACTED]"]


def test_an_undecided_or_unknown_plan_and_wrong_arguments_are_named(cli, plan_id):
    unknown = cli("policy", "input", "--plan-id", "p-nope")
    assert unknown.returncode == 1 and "no plan 'p-nope'" in unknown.stderr
    missing = cli("policy", "input", "--plan-id", plan_id, "--version", "7")
    assert missing.returncode == 1 and "has no version 7" in missing.stderr
    for wrong in ([], ["write.json", "--plan-id", plan_id], ["write.json", "--version", "1"]):
        refused = cli("--as", "alice", "policy", "input", *wrong)
        assert refused.returncode == 2 and refused.stdout == "", wrong
        assert "--plan-id" in refused.stderr
    assert cli("--as", "erin", "policy", "input", "--plan-id", plan_id).returncode == 2


def test_an_invalid_version_is_named_as_never_judged(cli, data_dir):
    (data_dir / "bad.json").write_text(json.dumps({"goal": "g", "steps": [
        {"id": "a", "tool": "crm.nope", "args": {}}]}))
    planned = cli("--as", "alice", "plan", "--file", "bad.json", "--json")
    plan_id = json.loads(planned.stdout)["plan_id"]
    shown = cli("policy", "input", "--plan-id", plan_id)
    assert shown.returncode == 1 and shown.stdout == ""
    assert f"plan {plan_id} v1 is invalid, so the policies never judge it" in shown.stderr
