"""Over the API, a configured secret's value typed into a goal a template matches, an approval's
comment or a rejection's reason is stored masked and never shown; one stored before the secret
was configured is shown masked.

Over each store in turn (SQLite, then PostgreSQL).
"""

from __future__ import annotations

import json

import httpx
import pytest
from sqlmodel import Session, select

from baton.services import Services
from executor.store.schema import ApprovalRow, PlanVersionRow
from tools.redaction import REDACTED

from tests.support.stored_before_secret import before_secret, commented

from .live import make_settings, serve, token_of

SECRET = "crm-SuperSecret-0042"
WRITE = {"goal": "write the note", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": "hello"}}]}


def _clients(live):
    return {user: httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                               headers={"Authorization": f"Bearer {token_of(user)}"})
            for user in ("alice", "bob", "dave")}


@pytest.fixture
def site(db_url, tmp_path):
    """A server with SECRET configured as CRM_TOKEN, its services, and clients per user."""
    services = Services(make_settings(tmp_path, database_url=db_url,
                                      secrets={"CRM_TOKEN": SECRET}))
    live = serve(services)
    clients = _clients(live)
    yield services, clients
    for client in clients.values():
        client.close()
    live.stop()
    services.engine.dispose()


def stored_text(services: Services) -> str:
    """Every stored version and approval row, as one text to search."""
    with Session(services.engine) as session:
        rows = [*session.exec(select(PlanVersionRow)).all(),
                *session.exec(select(ApprovalRow)).all()]
    return json.dumps([row.model_dump(mode="json") for row in rows])


def test_a_goal_holding_a_secret_keeps_it_out_of_the_template_params(site):
    services, clients = site
    response = clients["alice"].post("/plans", json={"goal": f"Copy {SECRET}.csv to x.csv"})
    assert response.status_code == 422, response.text
    assert SECRET not in response.text and "configured_secret" in response.text
    (plan,) = clients["dave"].get("/plans").json()
    detail = clients["dave"].get(f"/plans/{plan['plan_id']}")
    assert detail.status_code == 200 and SECRET not in detail.text
    assert detail.json()["latest"]["origin"]["params"]["source"] == f"{REDACTED}.csv"
    assert SECRET not in stored_text(services) and REDACTED in stored_text(services)


def test_an_approval_comment_and_a_rejection_reason_are_stored_and_shown_masked(site):
    services, clients = site
    approved = clients["alice"].post("/plans/document", json={"document": WRITE}).json()
    rejected = clients["alice"].post("/plans/document", json={"document": WRITE}).json()
    gate = clients["bob"].post(f"/plans/{approved['plan_id']}/approve",
                               json={"comment": f"fine, {SECRET}"})
    assert gate.status_code == 200 and SECRET not in gate.text and REDACTED in gate.text
    gate = clients["bob"].post(f"/plans/{rejected['plan_id']}/reject",
                               json={"reason": f"not {SECRET}"})
    assert gate.status_code == 200 and SECRET not in gate.text and REDACTED in gate.text
    for plan in (approved, rejected):
        detail = clients["dave"].get(f"/plans/{plan['plan_id']}")
        assert detail.status_code == 200 and SECRET not in detail.text and REDACTED in detail.text
    assert SECRET not in stored_text(services)


def test_comments_stored_before_the_secret_was_configured_are_shown_masked(db_url, tmp_path):
    before = before_secret(tmp_path, db_url)
    approved, rejected = commented(before, WRITE, f"fine, {SECRET}", f"not {SECRET}")
    before.engine.dispose()
    after = Services(make_settings(tmp_path, database_url=db_url, secrets={"CRM_TOKEN": SECRET}))
    live = serve(after)
    clients = _clients(live)
    try:
        assert SECRET in stored_text(after)  # left as stored
        shown = clients["dave"].get(f"/plans/{approved}").json()
        assert shown["gate"]["valid_approvals"][0]["comment"] == f"fine, {REDACTED}"
        shown = clients["dave"].get(f"/plans/{rejected}").json()
        assert shown["gate"]["reasons"] == [f"rejected by bob: not {REDACTED}"]
        for plan_id in (approved, rejected):
            assert SECRET not in clients["dave"].get(f"/plans/{plan_id}").text
    finally:
        for client in clients.values():
            client.close()
        live.stop()
        after.engine.dispose()


def test_a_planning_error_quoting_the_goal_answers_with_the_secret_masked(site):
    services, clients = site
    response = clients["alice"].post("/plans", json={"goal": f"Copy /{SECRET}.csv to x.csv"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "no_template_matches"
    assert SECRET not in response.text and f"/{REDACTED}.csv" in response.text
    assert SECRET not in stored_text(services)
