"""The OpenAPI document declares the errors the routes answer.

Every route with a token may answer 503: ``store_error`` when the database fails, and
``settings_error`` while the settings file no longer loads (the token check itself). The
ledger's reads answer 409 ``ledger_broken`` for a damaged row. The document declared 503 on
``/healthz`` alone and 409 on neither ledger read, so a client generated from it had no
type for those answers.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from baton.api import create_app
from baton.services import Services

from .live import make_settings, token_of

ERROR_SHAPE = "#/components/schemas/ErrorResponse"


@pytest.fixture
def services(tmp_path):
    return Services(make_settings(tmp_path))


@pytest.fixture
def document(services):
    return create_app(services, worker_poll_s=None).openapi()


def _declared(document, path: str, method: str = "get") -> dict:
    return document["paths"]["/api/v1" + path][method]["responses"]


def _shape(response: dict) -> str:
    return response["content"]["application/json"]["schema"]["$ref"]


def test_every_route_declares_a_503_in_the_error_shape(document):
    operations = [(path, method, operation["responses"])
                  for path, methods in document["paths"].items() if path.startswith("/api/v1")
                  for method, operation in methods.items()]
    assert len(operations) > 10
    for path, method, responses in operations:
        assert "503" in responses, f"{method} {path} lacks 503"
        assert _shape(responses["503"]) == ERROR_SHAPE, f"{method} {path}"
    description = _declared(document, "/plans")["503"]["description"]
    assert "store_error" in description and "settings_error" in description


@pytest.mark.parametrize("path", ["/ledger/events", "/ledger/export"])
def test_the_ledger_reads_declare_a_409_for_a_broken_event(document, path):
    responses = _declared(document, path)
    assert "409" in responses and _shape(responses["409"]) == ERROR_SHAPE
    assert "ledger_broken" in responses["409"]["description"]


@pytest.mark.parametrize("path", ["/ledger/events", "/ledger/export"])
def test_a_broken_event_is_answered_with_a_status_the_document_declares(services, document,
                                                                         path):
    services.ledger.append("goal", "p-1", "alice", {"goal": "one"})
    services.ledger.append("goal", "p-2", "alice", {"goal": "two"})
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET payload = '[1]' WHERE seq = 2"))
    client = TestClient(create_app(services, worker_poll_s=None),
                        headers={"Authorization": f"Bearer {token_of('dave')}"})
    response = client.get("/api/v1" + path)
    assert response.json()["error"]["code"] == "ledger_broken"
    assert str(response.status_code) in _declared(document, path)


def test_every_route_declares_the_413_and_422_every_request_may_meet(document):
    """The body size limit (413) and the NUL check (422) answer before any route: a cancel
    with a 2 MiB body, ``GET /tools?x=%00``."""
    for path, methods in document["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in methods.items():
            for status in ("413", "422"):
                assert status in operation["responses"], f"{method} {path} lacks {status}"


@pytest.mark.parametrize("path", ["/plans", "/plans/{plan_id}/revise"])
def test_the_planning_routes_declare_the_502_of_a_failing_llm_endpoint(document, path):
    responses = _declared(document, path, "post")
    assert "502" in responses and _shape(responses["502"]) == ERROR_SHAPE
    assert "endpoint_" in responses["502"]["description"]
