"""`baton revise` never loses the version that can run: a revision refused for a secret's value
(or the mask mark) leaves it the latest, and of two revisions of the same version at once the
later one is refused as a conflict instead of dropping the other's change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.support.cli_in_process import in_process_baton
from tests.support.openai_server import Completion

TOKEN = "crm-SuperSecret-98765"
BATON_TOML = f"""
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]

[secrets]
CRM_TOKEN = "{TOKEN}"
"""


@pytest.fixture
def env(data_dir, openai_server) -> dict[str, str]:
    """The variables every `baton` call here runs with: alice, the scripted endpoint."""
    (data_dir / "baton.toml").write_text(BATON_TOML)
    (data_dir / "ws").mkdir()
    return {"BATON_DATA_DIR": str(data_dir / "data"), "BATON_USER": "alice",
            "BATON_LLM_BASE_URL": openai_server.base_url, "BATON_LLM_MODEL": "scripted",
            "BATON_LLM_API_KEY": "sk-test-NEVER-RECORD-1234567890"}


@pytest.fixture
def baton(env, monkeypatch, capsys):
    """Run ``baton`` in-process with the LLM planner pointed at the scripted endpoint."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with in_process_baton(capsys) as run:
        yield run


def _reply(text: str, delay_s: float = 0.0) -> Completion:
    step = {"id": "save", "tool": "files.write", "why": "greet", "depends_on": [],
            "args_json": json.dumps({"path": "out.txt", "text": text})}
    return Completion(content=json.dumps({"steps": [step]}), delay_s=delay_s)


def _json(result: subprocess.CompletedProcess[str]):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _approved_plan(baton, openai_server) -> str:
    openai_server.script(_reply("hello"))
    plan_id = _json(baton("plan", "--json", "write a greeting to out.txt"))["plan_id"]
    assert baton("--as", "bob", "approve", plan_id).returncode == 0
    return plan_id


def _texts(baton, plan_id: str) -> list[tuple[int, str, str]]:
    """(version, status, text written) of every version, oldest first."""
    latest = _json(baton("plans", "show", plan_id, "--json"))["version"]
    versions = [_json(baton("plans", "show", plan_id, "--version", str(n), "--json"))
                for n in range(1, latest + 1)]
    return [(v["version"], v["status"], v["plan"]["steps"][0]["args"]["text"]) for v in versions]


@pytest.mark.parametrize(("text", "code"), [(f"token {TOKEN}", "configured_secret"),
                                            ("token [REDACTED]", "masked_value")])
def test_a_refused_revision_leaves_the_approved_version_to_run(
        baton, openai_server, data_dir, text, code):
    plan_id = _approved_plan(baton, openai_server)
    openai_server.script(_reply(text))
    refused = baton("revise", plan_id, "include the CRM token in the greeting")
    assert refused.returncode == 1 and code in refused.stderr
    assert "v1 stays the latest version" in refused.stderr and TOKEN not in refused.stderr
    assert _texts(baton, plan_id) == [(1, "approved", "hello")]
    events = _json(baton("audit", "show", "--json", "--subject", plan_id))
    (failed,) = [e["payload"] for e in events if e["kind"] == "validation"
                 and not e["payload"]["ok"]]
    assert failed["revision_of"] == 1 and code in json.dumps(failed["problems"])
    assert failed["document"]["steps"][0]["args"]["text"] == "token [REDACTED]"
    assert "token [REDACTED]" in [e for e in events if e["kind"] == "llm_exchange"][-1][
        "payload"]["reply"]
    assert TOKEN not in json.dumps(events)
    assert baton("run", plan_id).returncode == 0
    assert (data_dir / "ws" / "out.txt").read_text() == "hello"


def test_the_later_of_two_revisions_at_once_is_refused_and_drops_nothing(
        baton, openai_server, env, data_dir):
    plan_id = _approved_plan(baton, openai_server)
    openai_server.script(_reply("from A", delay_s=3.0), _reply("from B"))
    asked = len(openai_server.requests)
    slow = subprocess.Popen([sys.executable, "-m", "baton", "revise", plan_id, "say hello"],
                            cwd=data_dir, env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(openai_server.requests) == asked and time.monotonic() < deadline:
        time.sleep(0.05)  # until A has asked the model (and waits for its slow reply)
    assert _json(baton("revise", "--json", plan_id, "say bonjour"))["version"] == 2
    out, err = slow.communicate(timeout=60)
    assert slow.returncode == 1, (out, err)
    assert f"plan {plan_id} changed while revising: v2 was added; revise again" in err
    assert _texts(baton, plan_id) == [(1, "superseded", "hello"),
                                      (2, "pending_approval", "from B")]
    events = _json(baton("audit", "show", "--json", "--subject", plan_id))
    versions = [e["payload"] for e in events if e["kind"] == "plan_version"]
    assert [(v["version"], v["revises"]) for v in versions] == [(1, None), (2, 1)]
    (failed,) = [e["payload"] for e in events if e["kind"] == "validation"
                 and not e["payload"]["ok"]]
    assert failed["feedback"] == "say hello" and failed["revision_of"] == 1
    assert failed["document"]["steps"][0]["args"]["text"] == "from A"
