"""The API once an approval counts again (its approver has the role back), on SQLite and
PostgreSQL: ``GET /plans/{id}`` said the gate was approved, yet ``POST /runs`` answered 409
``not_approved`` and both approvers met 409 ``double_approval``; the plan was stuck."""

from __future__ import annotations

import httpx
import pytest

from executor.ledger import EventKind
from tests.support.approvals_again import stuck_plan

from .live import serve, token_of

COMPLETE = "the gate is complete with the approvals that count now: it is approved"


@pytest.fixture
def stuck(db_url, tmp_path):
    """A live server with bob's role back, and the plan bob and carol approved (on SQLite,
    then PostgreSQL: the ``db_url`` fixture of ``tests/api/conftest.py``)."""
    services, plan_id = stuck_plan(tmp_path, db_url)
    live = serve(services)
    try:
        yield services, live, plan_id
    finally:
        live.stop()
        services.engine.dispose()


def _as(live, user: str) -> httpx.Client:
    return httpx.Client(base_url=f"{live.url}/api/v1", timeout=30,
                        headers={"Authorization": f"Bearer {token_of(user)}"})


def test_the_plan_reads_approved_and_a_run_starts(stuck):
    services, live, plan_id = stuck
    with _as(live, "alice") as alice:
        shown = alice.get(f"/plans/{plan_id}").json()
        assert shown["gate"]["status"] == "approved" and shown["gate"]["missing_count"] == 0
        started = alice.post("/runs", json={"plan_id": plan_id})
    assert started.status_code == 202, started.text
    assert services.plan_store.get(plan_id).status.value == "approved"
    [completed] = [e for e in services.ledger.events(subject=plan_id,
                                                     kinds=[EventKind.GATE_COMPLETE.value])
                   if e.actor == "gate"]
    assert [a["actor"] for a in completed.payload["completed_by"]] == ["bob", "carol"]


@pytest.mark.parametrize("approver", ["bob", "carol"])
def test_approving_it_again_answers_200_with_the_approved_gate(stuck, approver):
    services, live, plan_id = stuck
    with _as(live, approver) as client:
        answered = client.post(f"/plans/{plan_id}/approve", json={})
    assert answered.status_code == 200, answered.text
    gate = answered.json()
    assert gate["status"] == "approved" and COMPLETE in gate["reasons"]
    assert services.plan_store.get(plan_id).status.value == "approved"
