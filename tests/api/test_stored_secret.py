"""The plan routes over a plan stored before its secret was configured: masked, hash kept, no run.

Over each store in turn (SQLite, then PostgreSQL).
"""

from __future__ import annotations

import json

import httpx
import pytest

from baton.services import Services
from tools.redaction import REDACTED

from tests.support.stored_before_secret import approved_and_revised, before_secret

from .live import make_settings, serve, token_of

TOKEN = "tok-live-5f1e2d3c4b"
NOTE = {"goal": "write the note", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": f"token {TOKEN}"}}]}


@pytest.fixture
def stored(db_url, tmp_path):
    """The approved note plan and a revised one (two versions), stored before any secret was
    configured; then a server over the same store with TOKEN configured as the secret
    NOTE_TOKEN, and clients of alice and dave."""
    before = before_secret(tmp_path, db_url)
    approved, revised = approved_and_revised(before, NOTE, TOKEN)
    before.engine.dispose()
    after = Services(make_settings(tmp_path, database_url=db_url, secrets={"NOTE_TOKEN": TOKEN}))
    live = serve(after)
    clients = {user: httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                                  headers={"Authorization": f"Bearer {token_of(user)}"})
               for user in ("alice", "dave")}
    yield approved, revised, clients
    for client in clients.values():
        client.close()
    live.stop()
    after.engine.dispose()


def test_every_plan_route_masks_a_value_configured_as_secret_after_it_was_stored(stored):
    _, plan_id, clients = stored
    for path in (f"/plans/{plan_id}", f"/plans/{plan_id}/versions/1", f"/plans/{plan_id}/diff",
                 f"/plans/{plan_id}/diff?from=1&to=2", "/plans?status=approved", "/plans"):
        response = clients["dave"].get(path)
        assert response.status_code == 200, (path, response.text)
        assert TOKEN not in response.text, path
    shown = clients["dave"].get(f"/plans/{plan_id}/versions/1").json()
    assert shown["plan"]["steps"][0]["args"]["text"] == f"token {REDACTED}"
    assert REDACTED in clients["dave"].get(f"/plans/{plan_id}/diff").json()["text"]


def test_the_hash_shown_is_the_stored_hash_approvals_bind_to(stored):
    approved, _, clients = stored
    detail = clients["dave"].get(f"/plans/{approved.plan_id}").json()
    assert detail["latest"]["plan_hash"] == detail["versions"][0]["plan_hash"] == approved.plan_hash
    assert detail["latest"]["status"] == "approved" and TOKEN not in json.dumps(detail)
    assert detail["gate"]["status"] == "denied" and "NOTE_TOKEN" in detail["gate"]["reasons"][0]


def test_starting_a_run_of_the_version_is_refused_without_the_value(stored):
    approved, _, clients = stored
    response = clients["alice"].post("/runs", json={"plan_id": approved.plan_id})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "not_approved" and "may not run" in error["message"]
    assert "step note: $.steps[0].args.text" in error["message"]
    assert "NOTE_TOKEN" in error["message"]
    assert TOKEN not in json.dumps(error)
