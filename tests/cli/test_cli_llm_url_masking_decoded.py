"""`baton plan` and `baton revise` with the LLM planner: a credential the policy reads only once
a text is decoded (a model's reply writing "/" as "\\/", a form body) or behind a blank that
the secret pattern does not stop at (U+00A0) reaches neither the model, the store, the
ledger nor the output."""

from __future__ import annotations

import json

from tests.support.openai_server import Completion
from tests.support.url_secrets_cli import baton  # noqa: F401 - fixture
from tests.support.url_secrets_cli import fetch_reply, table_rows

CRED = "hunter3hunter3"


def _ledger(baton, plan_id: str) -> str:  # noqa: F811 - the fixture
    shown = baton("--as", "dave", "audit", "show", "--json", "--subject", plan_id)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def _step(args: dict) -> dict:
    return {"id": "fetch", "tool": "http.request", "why": "read it", "depends_on": [],
            "args_json": json.dumps(args), "retry": None, "timeout_s": None}


def test_a_model_reply_escaping_its_slashes_is_recorded_masked(  # noqa: F811
        baton, openai_server, data_dir):
    url = f"https://api.example/b?token={CRED}"
    content = json.dumps({"steps": [_step({"method": "GET", "url": url})]})
    openai_server.script(Completion(content=content.replace("/", "\\/")))
    planned = baton("plan", "Fetch the b report from api.example")
    assert planned.returncode == 1, planned.stderr
    (listed,) = json.loads(baton("plans", "list", "--json").stdout)
    shown = json.loads(baton("plans", "show", listed["plan_id"], "--json").stdout)
    assert shown["status"] == "denied"
    assert shown["plan"]["steps"][0]["args"]["url"] == "https://api.example/b?token=***"
    ledger = _ledger(baton, listed["plan_id"])
    (exchange,) = [e["payload"] for e in json.loads(ledger) if e["kind"] == "llm_exchange"]
    assert "token=***" in exchange["reply"]
    assert CRED not in ledger + planned.stdout + planned.stderr
    assert CRED not in table_rows(data_dir / "data" / "baton.db")


def test_a_form_body_credential_never_reaches_the_model_on_revision(  # noqa: F811
        baton, openai_server, data_dir):
    body = f"cb=https%3A%2F%2Fhooks.example.com%2Fin%3Ftoken%3D{CRED}"
    args = {"method": "POST", "url": "https://api.example.com/hooks", "body": body}
    openai_server.script(Completion(content=json.dumps({"steps": [_step(args)]})))
    plan_id = json.loads(baton("plan", "--json", "Register the webhook").stdout)["plan_id"]
    openai_server.script(Completion(content=None, refusal="no"))
    baton("revise", plan_id, "use a header instead")
    assert CRED not in json.dumps(openai_server.requests)
    assert CRED not in _ledger(baton, plan_id)
    assert CRED not in table_rows(data_dir / "data" / "baton.db")


def test_a_goal_password_after_a_no_break_space_never_reaches_the_model(  # noqa: F811
        baton, openai_server, data_dir):
    url = f"https://alice\u00a0ops:{CRED}@git.example.com/repo"
    openai_server.script(fetch_reply("https://git.example.com/repo"))
    planned = baton("plan", f"Fetch {url} and show its status")
    assert CRED not in json.dumps(openai_server.requests)
    (listed,) = json.loads(baton("plans", "list", "--json").stdout)
    shown = json.loads(baton("plans", "show", listed["plan_id"], "--json").stdout)
    assert shown["goal"] == ("Fetch https://alice\u00a0ops:***@git.example.com/repo and show "
                             "its status")
    assert CRED not in _ledger(baton, listed["plan_id"]) + planned.stdout + planned.stderr
    assert CRED not in table_rows(data_dir / "data" / "baton.db")
