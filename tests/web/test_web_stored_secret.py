"""The web pages of a plan stored before its secret was configured show the value masked."""

from __future__ import annotations

import pytest

from baton.services import Services
from baton.usecases.runs import start_run
from tests.api.live import make_settings, serve
from tests.support.stored_before_secret import approved_and_revised, before_secret
from tests.web.test_web_forms import signed_in
from tools.redaction import REDACTED

TOKEN = "tok-live-5f1e2d3c4b"
NOTE = {"goal": f"write the note for {TOKEN}", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": f"token {TOKEN}"}}]}


@pytest.fixture
def site(tmp_path):
    """A server with TOKEN configured as a secret over plans stored before it was: an approved
    one with a queued run, and one revised into a second version."""
    before = before_secret(tmp_path)
    approved, revised = approved_and_revised(before, NOTE, TOKEN)
    run = start_run(before, approved.plan_id, before.settings.users["alice"], detach=True)
    before.engine.dispose()
    live = serve(Services(make_settings(tmp_path, secrets={"NOTE_TOKEN": TOKEN})))
    yield live, approved, revised, run.id
    live.stop()


def test_plan_pages_show_the_value_masked_and_the_stored_hash(site):
    server, approved, revised, _ = site
    dave, _ = signed_in(server, "dave")
    for url in ("/", f"/plans/{approved.plan_id}", f"/plans/{revised}",
                f"/plans/{revised}?version=1"):
        page = dave.get(url)
        assert page.status_code == 200, url
        assert TOKEN not in page.text and REDACTED in page.text, url
    page = dave.get(f"/plans/{approved.plan_id}").text
    assert f"token {REDACTED}" in page and approved.plan_hash in page


def test_the_run_page_shows_the_plan_masked(site):
    server, _, _, run_id = site
    dave, _ = signed_in(server, "dave")
    page = dave.get(f"/runs/{run_id}")
    assert page.status_code == 200 and TOKEN not in page.text and REDACTED in page.text
