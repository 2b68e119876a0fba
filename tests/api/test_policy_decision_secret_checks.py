"""`POST /policy/decision` refuses what storing a plan refuses: a configured secret's value
(`configured_secret`) and `[REDACTED]` in an argument (`masked_value`), as `baton policy eval`
does, instead of deciding on the document."""

from __future__ import annotations

import json

import httpx
import pytest

from baton.services import Services
from tools.redaction import REDACTED

from .live import make_settings, serve, token_of

TOKEN = "crm-SuperSecret-0042"


def _document(text: str) -> dict:
    return {"goal": "write the note", "steps": [
        {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": text}}]}


@pytest.fixture
def alice(tmp_path):
    """alice's client of a server with CRM_TOKEN configured."""
    live = serve(Services(make_settings(tmp_path, secrets={"CRM_TOKEN": TOKEN})))
    client = httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {token_of('alice')}"})
    yield client
    client.close()
    live.stop()


def _refusal(response: httpx.Response) -> str:
    """The invalid_plan error's message (each problem on a line of its own)."""
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_plan"
    return error["message"]


def test_a_document_holding_a_configured_secrets_value_gets_no_decision(alice):
    response = alice.post("/policy/decision", json={"document": _document(f"token {TOKEN}")})
    message = _refusal(response)
    assert "(1 problem(s))" in message and "configured_secret" in message
    assert "step note: $.steps[0].args.text" in message and "CRM_TOKEN" in message
    assert TOKEN not in response.text


def test_a_document_holding_the_mask_mark_gets_no_decision(alice):
    response = alice.post("/policy/decision", json={"document": _document(f"token {REDACTED}")})
    message = _refusal(response)
    assert "(1 problem(s))" in message and "masked_value" in message
    assert "step note: $.steps[0].args.text" in message


def test_a_clean_document_is_still_decided(alice):
    response = alice.post("/policy/decision", json={"document": _document("hello")})
    assert response.status_code == 200, response.text
    assert json.loads(response.text)["outcome"] in {"allowed", "needs_approval", "denied"}


@pytest.mark.parametrize("secret_hidden_inside", [False, True])
def test_a_document_nested_deeper_than_can_be_walked_is_refused_not_a_server_error(
        alice, secret_hidden_inside):
    # 600 nested lists in one argument (about 1 KB): the secret scan walked the raw document
    # by recursion and raised RecursionError, a 500 with a traceback in the log per request.
    innermost = f'"token {TOKEN}"' if secret_hidden_inside else ""
    nested = "[" * 600 + innermost + "]" * 600
    body = ('{"document": {"goal": "g", "steps": [{"id": "load", "tool": "files.read", '
            '"args": {"path": "sales.csv", "x": %s}}]}}' % nested)
    response = alice.post("/policy/decision", content=body,
                          headers={"Content-Type": "application/json"})
    message = _refusal(response)
    assert "[invalid_args] step load" in message
    assert TOKEN not in response.text
