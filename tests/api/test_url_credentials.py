"""Passwords and tokens in configured URLs never show: errors, ledger, logs, tool listing."""

from __future__ import annotations

import io
import socket

import httpx
import pytest

from baton.logging import configure_logging
from baton.services import Services

from .live import make_settings, serve, token_of

PASSWORD = "Pw-9d8c7b6a"
URL_TOKEN = "qtok-5e4f3a2b"


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def credentialed(tmp_path):
    """An API whose LLM endpoint (refusing connections) and HTTP tool URLs carry credentials."""
    port = unused_port()
    settings = make_settings(
        tmp_path,
        llm={"base_url": f"http://planner:{PASSWORD}@127.0.0.1:{port}/v1?api_key={URL_TOKEN}",
             "timeout_s": 2.0},
        http_tools=[{"name": "crm.lookup", "url": f"https://svc:{PASSWORD}@crm.example/lookup",
                     "method": "GET", "description": "Look up a customer."}],
    )
    services = Services(settings)
    live = serve(services)
    client = httpx.Client(base_url=live.url + "/api/v1", timeout=60,
                          headers={"Authorization": f"Bearer {token_of('alice')}"})
    yield services, client
    client.close()
    live.stop()


def test_an_llm_endpoint_password_is_not_in_the_error_the_ledger_or_the_logs(
        credentialed, restore_logging, monkeypatch):
    services, client = credentialed
    monkeypatch.setattr("time.sleep", lambda _s: None)  # the client's retry backoff
    out = io.StringIO()
    configure_logging("debug", json=True, secret_values=services.secret_values, stream=out)
    response = client.post("/plans", json={"goal": "Total sales.csv", "planner": "llm"})
    assert response.status_code == 502, response.text
    assert "unreachable" in response.json()["error"]["message"]
    exported = client.get("/ledger/export").text
    assert "llm.exchange" in exported or "endpoint" in exported
    for text in (response.text, exported, out.getvalue()):
        assert PASSWORD not in text and URL_TOKEN not in text
    assert "planner:***@127.0.0.1" in response.text


def test_the_tool_listing_hides_a_password_in_an_endpoint_url(credentialed):
    _, client = credentialed
    info = client.get("/tools/crm.lookup").json()
    assert info["endpoint_url"] == "https://svc:***@crm.example/lookup"
    assert PASSWORD not in client.get("/tools").text


def test_url_credentials_are_secret_values_masked_by_the_ledger(credentialed):
    services, _ = credentialed
    assert {PASSWORD, URL_TOKEN} <= set(services.secret_values)
