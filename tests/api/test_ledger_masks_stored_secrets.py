"""Ledger readers over events stored before a value was configured as a secret: the API's events,
export and run event stream, and the web's ledger and run pages, show it masked; verification
still reads the stored payloads, so the chain verifies.

Over each store in turn (SQLite, then PostgreSQL).
"""

from __future__ import annotations

import json

import httpx
import pytest

from baton.services import Services
from baton.usecases.runs import start_run
from tests.support.stored_before_secret import before_secret, commented
from tests.web.test_web_forms import signed_in
from tools.redaction import REDACTED

from .live import make_settings, serve, token_of

TOKEN = "tok-live-5f1e2d3c4b"
NOTE = {"goal": f"write the note for {TOKEN}", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": f"token {TOKEN}"}}]}


@pytest.fixture
def stored(db_url, tmp_path):
    """Plans, an approval comment, a rejection reason and a finished run, all holding TOKEN and
    stored before it was configured; then a server with TOKEN configured as a secret."""
    before = before_secret(tmp_path, db_url)
    approved, _ = commented(before, NOTE, f"fine, {TOKEN}", f"no: {TOKEN}")
    run = start_run(before, approved, before.settings.users["alice"])
    assert TOKEN in json.dumps([e.payload for e in before.ledger.events()])
    before.engine.dispose()
    after = Services(make_settings(tmp_path, database_url=db_url, secrets={"NOTE_TOKEN": TOKEN}))
    live = serve(after)
    api = httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                       headers={"Authorization": f"Bearer {token_of('dave')}"})
    yield live, api, run.id
    api.close()
    live.stop()
    after.engine.dispose()


def test_api_ledger_reads_mask_the_value_and_the_chain_still_verifies(stored):
    _, api, run_id = stored
    for path in ("/ledger/events", f"/ledger/events?subject={run_id}", "/ledger/export",
                 "/ledger/export?format=cloudevents", f"/runs/{run_id}/events"):
        response = api.get(path)
        assert response.status_code == 200, (path, response.text)
        assert TOKEN not in response.text and REDACTED in response.text, path
    events = api.get("/ledger/events").json()
    assert any(e["payload"].get("comment") == f"fine, {REDACTED}" for e in events)
    verified = api.get("/ledger/verify").json()
    assert verified["ok"] and verified["events"] == len(events)


def test_web_ledger_and_run_pages_mask_the_value(stored):
    server, _, run_id = stored
    dave, _ = signed_in(server, "dave")
    for url in ("/ledger", f"/ledger?subject={run_id}", f"/runs/{run_id}", f"/runs/{run_id}/events"):
        page = dave.get(url)
        assert page.status_code == 200, url
        assert TOKEN not in page.text and REDACTED in page.text, url
    # The page's own window check hashes the stored payloads: still intact.
    assert "broken" not in dave.get("/ledger").text.lower()
