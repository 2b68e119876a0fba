"""`baton plan` and `baton revise` with the LLM planner: a credential written into a URL of
the goal or the feedback reaches neither the model nor the store, the ledger or the output.
The model sees it as ``***``; a plan copying that mask is refused naming the parameter."""

from __future__ import annotations

import json

from tests.support.url_secrets_cli import baton  # noqa: F401 - fixture
from tests.support.openai_server import Completion
from tests.support.url_secrets_cli import fetch_reply, table_rows

CRED = "hunter3hunter3"
HOST = "https://api.internal.example"
REFUSED = "carries a literal credential in URL parameter"


def test_a_goal_url_credential_reaches_neither_the_model_nor_the_record(
        baton, openai_server, data_dir):
    openai_server.script(fetch_reply(f"{HOST}/b?token=***"))
    planned = baton("plan", f"Fetch {HOST}/b?token={CRED} and show its status")
    assert planned.returncode == 1, planned.stderr
    (request,) = openai_server.requests
    assert CRED not in json.dumps(request)
    asked = request["messages"][1]["content"]
    assert f"Goal: Fetch {HOST}/b?token=*** and show its status" in asked
    (listed,) = json.loads(baton("plans", "list", "--json").stdout)
    shown = baton("plans", "show", listed["plan_id"], "--json")
    version = json.loads(shown.stdout)
    assert version["status"] == "denied"
    assert version["goal"] == f"Fetch {HOST}/b?token=*** and show its status"
    assert f"step fetch: argument $.args.url {REFUSED} token" in " ".join(
        " ".join(version["decision"]["deny"]).split())
    ledger = baton("--as", "dave", "audit", "show", "--json", "--subject", listed["plan_id"])
    kinds = [e["kind"] for e in json.loads(ledger.stdout)]
    assert "llm_exchange" in kinds and "decision" in kinds
    for out in (planned, shown, ledger):
        assert CRED not in out.stdout + out.stderr
    assert CRED not in table_rows(data_dir / "data" / "baton.db")


def test_a_revision_feedback_url_credential_reaches_neither_the_model_nor_the_record(
        baton, openai_server, data_dir):
    openai_server.script(fetch_reply(f"{HOST}/b?page=1"))
    plan_id = json.loads(baton("plan", "--json", f"Fetch {HOST}/b?page=1").stdout)["plan_id"]
    openai_server.script(Completion(content=None, refusal="no"))
    revised = baton("revise", plan_id, f"fetch {HOST}/b;jsessionid={CRED} instead")
    assert revised.returncode == 1
    request = openai_server.requests[-1]
    assert CRED not in json.dumps(request)
    assert f"fetch {HOST}/b;jsessionid=*** instead" in request["messages"][1]["content"]
    ledger = baton("--as", "dave", "audit", "show", "--json", "--subject", plan_id)
    failed = [e["payload"] for e in json.loads(ledger.stdout)
              if e["kind"] == "validation" and not e["payload"]["ok"]]
    assert failed[-1]["feedback"] == f"fetch {HOST}/b;jsessionid=*** instead"
    for out in (revised, ledger):
        assert CRED not in out.stdout + out.stderr
    assert CRED not in table_rows(data_dir / "data" / "baton.db")
