"""`baton plan` and `baton revise` with the LLM planner against the scripted local endpoint.

Whatever the model replies, the command ends in a clear error and the ledger records the
attempt; nothing configured as secret ever goes to the model.
"""

from __future__ import annotations

import json

import pytest

from tests.support.cli_in_process import in_process_baton
from tests.support.openai_server import Completion

CHAT_TOKEN = "xoxb-CONFIGURED-SECRET-777777"
BATON_TOML = f"""
[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]

[secrets]
CHAT_TOKEN = "{CHAT_TOKEN}"
"""


@pytest.fixture
def baton(data_dir, monkeypatch, capsys, openai_server):
    """Run ``baton`` in-process with the LLM planner pointed at the scripted endpoint."""
    (data_dir / "baton.toml").write_text(BATON_TOML)
    monkeypatch.setenv("BATON_DATA_DIR", str(data_dir / "data"))
    monkeypatch.setenv("BATON_USER", "alice")
    monkeypatch.setenv("BATON_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("BATON_LLM_MODEL", "scripted")
    monkeypatch.setenv("BATON_LLM_API_KEY", "sk-test-NEVER-RECORD-1234567890")
    with in_process_baton(capsys) as run:
        yield run


def _ledger(baton, plan_id: str) -> list[dict]:
    shown = baton("audit", "show", "--json", "--subject", plan_id)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _assert_recorded_failure(baton, failed, attempts: int, problem: str) -> None:
    """Exit 1 without a traceback; the ledger holds every exchange and the failed validation."""
    assert failed.returncode == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    stored = json.loads(failed.stdout)
    assert stored["status"] == "invalid" and "gave no valid plan" in stored["error"]
    kinds = [e["kind"] for e in _ledger(baton, stored["plan_id"])]
    assert kinds == ["goal", *["llm_exchange"] * attempts, "plan_version", "validation"]
    assert problem in json.dumps(stored["problems"])


def test_model_replies_nested_too_deeply_are_a_recorded_planning_failure(baton, openai_server):
    openai_server.script(*[Completion(content="[" * 100_000 + "]" * 100_000)] * 3)
    failed = baton("plan", "--json", "Read sales.csv")
    _assert_recorded_failure(baton, failed, 3, "nested too deeply")


def test_model_replies_with_a_lone_surrogate_are_a_recorded_planning_failure(baton, openai_server):
    content = '{"steps": [{"id": "a", "tool": "files.read", "args": {"path": "x\ud800"}}]}'
    openai_server.script(*[Completion(content=content)] * 3)
    failed = baton("plan", "--json", "Read sales.csv")
    _assert_recorded_failure(baton, failed, 3, "lone surrogate")


def test_no_configured_secret_value_reaches_the_model_when_a_plan_holding_one_is_revised(
        baton, openai_server, data_dir):
    leaky = {"goal": "post the note", "steps": [
        {"id": "post", "tool": "http.request",
         "args": {"method": "POST", "url": "https://hooks.example.com/x",
                  "headers": {"Authorization": f"Bearer {CHAT_TOKEN}"}}}]}
    (data_dir / "leaky.json").write_text(json.dumps(leaky))
    planned = baton("plan", "--file", "leaky.json", "--json")
    stored = json.loads(planned.stdout)
    assert stored["status"] == "invalid"  # a configured secret's value is never stored
    openai_server.script(Completion(content=None, refusal="no"))
    revised = baton("revise", stored["plan_id"], f"use the CHAT_TOKEN secret, not {CHAT_TOKEN}")
    assert revised.returncode == 1 and "refused to plan" in revised.stderr
    (request,) = openai_server.requests
    assert CHAT_TOKEN not in json.dumps(request)
    assert "Bearer [REDACTED]" in request["messages"][1]["content"]


def test_no_configured_secret_value_reaches_the_model_in_a_goal(baton, openai_server):
    openai_server.script(Completion(content=None, refusal="no"))
    baton("plan", f"Post hello to the chat with token {CHAT_TOKEN}")
    (request,) = openai_server.requests
    assert CHAT_TOKEN not in json.dumps(request)
    assert "with token [REDACTED]" in request["messages"][1]["content"]


def test_a_revision_after_a_rejection_sends_the_feedback_and_the_masked_reason(
        baton, openai_server, data_dir):
    copy = {"goal": "copy the export", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
        {"id": "save", "tool": "files.write", "args": {"path": "b.csv", "text": {"ref": "load.text"}}}]}
    (data_dir / "copy.json").write_text(json.dumps(copy))
    plan_id = json.loads(baton("plan", "--file", "copy.json", "--json").stdout)["plan_id"]
    reason = f"not to b.csv; and never paste {CHAT_TOKEN} anywhere"
    assert baton("--as", "bob", "reject", plan_id, "--reason", reason).returncode == 0
    openai_server.script(Completion(content=None, refusal="no"))
    baton("revise", plan_id, "write it to archive/b.csv")
    (request,) = openai_server.requests
    asked = request["messages"][1]["content"]
    assert "Feedback on it:\nwrite it to archive/b.csv\n" in asked
    assert "The approver rejected it: not to b.csv; and never paste [REDACTED] anywhere" in asked
    assert CHAT_TOKEN not in json.dumps(request)


def test_a_revision_copying_the_mask_over_a_secret_stored_before_it_is_configured_is_invalid(
        baton, openai_server, data_dir):
    note = {"goal": "write the note", "steps": [{"id": "note", "tool": "files.write",
                                                 "args": {"path": "note.txt",
                                                          "text": f"token {CHAT_TOKEN}"}}]}
    (data_dir / "note.json").write_text(json.dumps(note))
    (data_dir / "baton.toml").write_text(BATON_TOML.split("[secrets]")[0])  # not configured yet
    plan_id = json.loads(baton("plan", "--file", "note.json", "--json").stdout)["plan_id"]
    (data_dir / "baton.toml").write_text(BATON_TOML)
    copied = {"id": "note", "tool": "files.write", "why": "the same note",
              "args_json": json.dumps({"path": "note.txt", "text": "token [REDACTED]"})}
    openai_server.script(Completion(content=json.dumps({"steps": [copied]})))
    revised = baton("revise", plan_id, "write it again")
    assert revised.returncode == 1 and "masked_value" in revised.stderr
    assert "v1 stays the latest version" in revised.stderr  # a refused revision stores none
    (request,) = openai_server.requests
    assert CHAT_TOKEN not in json.dumps(request)
    assert "token [REDACTED]" in request["messages"][1]["content"]
    assert json.loads(baton("plans", "show", plan_id, "--json").stdout)["version"] == 1
    (failed,) = [e["payload"] for e in _ledger(baton, plan_id)
                 if e["kind"] == "validation" and not e["payload"]["ok"]]
    assert [p["code"] for p in failed["problems"]] == ["masked_value"]
