"""A model's refusal is recorded whole, masked, in its exchange: the ledger's
``llm_exchange`` held ``reply: null, error: null`` for it, and only the refusal's first 500
characters survived, quoted in the version's error."""

from __future__ import annotations

import json

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from tests.support.decodable_secrets import holds_secret
from tests.support.openai_server import Completion
from tests.support.url_secrets_cli import llm_baton
from tools import ToolRegistry

SECRET = 'crm-"SUPER"SECRET-42'
REFUSAL = (f"I can't help with that: {SECRET} is a credential. " + "Reason. " * 100
           + "END-OF-REFUSAL")
MASKED = REFUSAL.replace(SECRET, "[REDACTED]")


@pytest.fixture
def baton(data_dir, monkeypatch, capsys, openai_server):
    """``baton`` in-process, the LLM planner on the scripted endpoint, a secret set."""
    settings = f"[secrets]\nCRM_TOKEN = {json.dumps(SECRET)}\n"
    with llm_baton(data_dir, monkeypatch, capsys, openai_server, settings) as run:
        yield run


def test_the_planning_trace_holds_the_whole_refusal(openai_server):
    registry = ToolRegistry()

    @registry.tool("files.read")
    def read(path: str) -> str:
        """Read a text file from the workspace."""
        return ""

    openai_server.script(Completion(content=None, refusal=REFUSAL))
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   timeout_s=5.0, prompt_secrets=()))
    with pytest.raises(PlanningError) as caught:
        planner.plan("Read sales.csv", registry)
    assert caught.value.code == "model_refused"
    (exchange,) = caught.value.trace.exchanges
    assert exchange.refusal == REFUSAL and exchange.reply is None


def test_a_refusal_is_in_the_ledger_whole_and_masked(baton, openai_server):
    openai_server.script(Completion(content=None, refusal=REFUSAL))
    planned = baton("plan", "--json", "Read sales.csv")
    assert planned.returncode != 0
    plan_id = json.loads(planned.stdout)["plan_id"]
    shown = baton("--as", "dave", "audit", "show", "--json", "--subject", plan_id)
    (exchange,) = [e["payload"] for e in json.loads(shown.stdout) if e["kind"] == "llm_exchange"]
    assert exchange["refusal"] == MASKED
    assert exchange["reply"] is None and exchange["error"] is None
    exported = baton("--as", "dave", "audit", "export")
    assert "END-OF-REFUSAL" in exported.stdout
    for view in (planned, shown, exported):
        assert not holds_secret(view.stdout + view.stderr, SECRET)
    assert baton("--as", "dave", "audit", "verify").returncode == 0


def test_an_exchange_without_a_refusal_records_none(baton, openai_server):
    step = {"id": "load", "tool": "files.read", "args_json": '{"path": "sales.csv"}',
            "depends_on": [], "why": "read it", "retry": None, "timeout_s": None}
    openai_server.script(Completion(content=json.dumps({"steps": [step]})))
    plan_id = json.loads(baton("plan", "--json", "Read sales.csv").stdout)["plan_id"]
    shown = baton("--as", "dave", "audit", "show", "--json", "--subject", plan_id)
    (exchange,) = [e["payload"] for e in json.loads(shown.stdout) if e["kind"] == "llm_exchange"]
    assert exchange["refusal"] is None and json.loads(exchange["reply"])["steps"]
