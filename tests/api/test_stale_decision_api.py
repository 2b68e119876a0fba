"""``GET /api/v1/plans/{id}`` says when the latest version's decision will be taken again
before its approval or run (``decision_stale``), reading it without deciding or writing."""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services
from baton.settings import Settings
from baton.usecases.plans import plan_from_document

from .live import make_settings, serve, token_of

WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}


def _alice_as_auditor(settings: Settings) -> Settings:
    users = dict(settings.users)
    users["alice"] = users["alice"].model_copy(update={"roles": ("analyst", "auditor")})
    return settings.model_copy(update={"users": users})


@pytest.fixture
def planned(tmp_path) -> tuple[Services, str]:
    """Services with a plan alice asked for, waiting for approval, and its id."""
    services = Services(make_settings(tmp_path))
    stored = plan_from_document(services, WRITE_PLAN, services.settings.users["alice"])
    return services, stored.plan_id


def _plan_read_by_bob(services: Services, plan_id: str) -> dict:
    live = serve(services)
    try:
        response = httpx.get(f"{live.url}/api/v1/plans/{plan_id}", timeout=30,
                             headers={"Authorization": f"Bearer {token_of('bob')}"})
    finally:
        live.stop()
    assert response.status_code == 200, response.text
    return response.json()


def test_an_unchanged_setup_shows_the_decision_standing(planned):
    services, plan_id = planned
    plan = _plan_read_by_bob(services, plan_id)
    assert plan["decision"] is not None and plan["decision_stale"] is None


def test_a_requester_whose_roles_changed_gets_why_without_anything_written(planned, tmp_path):
    then, plan_id = planned
    now = Services(_alice_as_auditor(make_settings(tmp_path)))
    events = len(now.ledger.events())
    plan = _plan_read_by_bob(now, plan_id)
    assert plan["decision_stale"].startswith(f"what the policies judge plan {plan_id} v1 on "
                                             "changed since it was decided")
    assert plan["latest"]["status"] == "pending_approval" and plan["gate"]["status"] == "pending"
    assert len(now.ledger.events()) == events
    assert now.approval_store.latest_decision(plan_id, 1) == then.approval_store.latest_decision(
        plan_id, 1)


def test_the_field_is_in_the_openapi_model(planned):
    services, _ = planned
    live = serve(services)
    try:
        schemas = httpx.get(live.url + "/openapi.json", timeout=30).json()["components"]["schemas"]
    finally:
        live.stop()
    assert "decision_stale" in schemas["PlanDetail"]["properties"]
