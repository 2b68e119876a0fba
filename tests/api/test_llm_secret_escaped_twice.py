"""The API's plan and ledger views hold no configured secret that the model wrote into
``args_json`` (JSON text inside the reply's JSON: a ``"`` of it escaped twice), in any form
decoding gives back: the reply recorded in the ledger kept it readable."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import SecretStr

from baton.services import Services
from tests.support.decodable_secrets import holds_secret
from tests.support.openai_server import Completion

from .live import make_settings, serve, token_of

SECRET = 'Grüße"Kö\\nig-7f3a'


@pytest.fixture
def client(tmp_path, openai_server):
    settings = make_settings(tmp_path, secrets={"NOTE_KEY": SecretStr(SECRET)},
                             llm={"base_url": openai_server.base_url, "model": "scripted",
                                  "timeout_s": 10.0})
    live = serve(Services(settings))
    with httpx.Client(base_url=live.url + "/api/v1", timeout=60, headers={
            "Authorization": f"Bearer {token_of('alice')}"}) as alice:
        yield alice
    live.stop()


def test_a_secret_in_args_json_is_in_no_plan_or_ledger_view(client, openai_server):
    step = {"id": "load", "tool": "files.read", "args_json": json.dumps({"path": SECRET}),
            "depends_on": [], "why": "read it", "retry": None, "timeout_s": None}
    openai_server.script(*[Completion(content=json.dumps({"steps": [step]}))] * 3)
    planned = client.post("/plans", json={"goal": "Read sales.csv", "planner": "llm"})
    assert planned.status_code == 422, planned.text  # the plan holds a secret's value
    (listed,) = client.get("/plans").json()
    plan_id = listed["plan_id"]
    auditor = {"Authorization": f"Bearer {token_of('dave')}"}
    events = client.get("/ledger/events", params={"subject": plan_id}, headers=auditor)
    assert events.status_code == 200, events.text
    replies = [e["payload"]["reply"] for e in events.json() if e["kind"] == "llm_exchange"]
    assert replies
    for reply in replies:
        (written,) = json.loads(reply)["steps"]
        assert json.loads(written["args_json"]) == {"path": "[REDACTED]"}
    views = [planned, events, client.get(f"/plans/{plan_id}"),
             client.get(f"/plans/{plan_id}/versions/1"), client.get("/plans"),
             client.get("/ledger/export", headers=auditor)]
    for view in views:
        assert view.status_code in (200, 422), view.text
        assert not holds_secret(view.text, SECRET), view.url
