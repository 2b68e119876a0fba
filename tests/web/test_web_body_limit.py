"""An over-size body: a page answers the web's HTML error page, the API its JSON error, both 413."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from baton.api import create_app
from baton.api.limits import DEFAULT_MAX_BODY_BYTES
from baton.services import Services
from baton.web.session import COOKIE
from tests.api.live import make_settings, token_of

MESSAGE = f"request body exceeds the limit of {DEFAULT_MAX_BODY_BYTES} bytes"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def client(tmp_path):
    """The app in process (no worker), with the default body limit."""
    app = create_app(Services(make_settings(tmp_path)), worker_poll_s=None)
    test_client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    yield test_client
    test_client.close()


def _form_over_the_limit() -> bytes:
    return b"csrf=x&goal=" + b"x" * DEFAULT_MAX_BODY_BYTES


def _chunks(body: bytes):
    """The body without a declared length: the limit falls on the bytes counted."""
    for start in range(0, len(body), 64 * 1024):
        yield body[start:start + 64 * 1024]


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "counted"])
def test_an_over_size_form_gets_the_web_error_page(client, declared):
    body = _form_over_the_limit()
    response = client.post("/plans", content=body if declared else _chunks(body),
                           headers={"Content-Type": FORM,
                                    "Cookie": f"{COOKIE}={token_of('alice')}"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert MESSAGE in response.text and "<h1>Too large</h1>" in response.text
    assert response.headers["connection"] == "close"  # the rest of the body is never read


def test_an_over_size_api_body_still_gets_the_json_error(client):
    response = client.post("/api/v1/plans", content=_form_over_the_limit(),
                           headers={"Content-Type": "application/json",
                                    "Authorization": f"Bearer {token_of('alice')}"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"code": "body_too_large", "message": MESSAGE}}
    assert response.headers["connection"] == "close"
