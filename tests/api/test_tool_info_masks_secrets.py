"""The tool routes never show a configured secret's value (a webhook's secret URL path)."""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services

from .live import make_settings, serve, token_of

HOOK = "T000/B000/XXXXSECRETPATHTOKEN"


@pytest.fixture
def client(tmp_path):
    settings = make_settings(
        tmp_path, secrets={"HOOK": HOOK},
        http_tools=[{"name": "slack.post", "method": "POST",
                     "url": f"https://hooks.slack.example/services/{HOOK}",
                     "description": "Post to the #fraud channel."}])
    live = serve(Services(settings))
    with httpx.Client(base_url=live.url + "/api/v1", timeout=60,
                      headers={"Authorization": f"Bearer {token_of('dave')}"}) as client:
        yield client
    live.stop()


def test_the_tool_routes_mask_a_configured_secret_in_an_endpoint_url(client):
    info = client.get("/tools/slack.post")
    assert info.status_code == 200, info.text
    assert info.json()["endpoint_url"] == "https://hooks.slack.example/services/[REDACTED]"
    listing = client.get("/tools")
    assert listing.status_code == 200 and "slack.post" in listing.text
    for text in (info.text, listing.text):
        assert "XXXXSECRETPATHTOKEN" not in text
