"""The run page shows each step's output for what it is: whole, or said to be cut with a link
to the whole; and an output stored as an artifact by its URI, live too.

The page (and the state its script reads) cut outputs at 20,000 characters mid-string and
said nothing; a page left open never showed an output stored as an artifact, as the state
left its URI out.
"""

from __future__ import annotations

import json

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import update
from sqlmodel import Session

from baton.services import Services
from baton.web.views import OUTPUT_SHOWN_CHARS
from executor.ledger import EventKind
from executor.store.runs import RunStore
from executor.store.schema import StepRunRow
from planner.plan import Plan
from tests.api.live import make_settings, serve, token_of
from tests.executor.runsupport import approved_plan
from tests.support.run_lifecycle import transition
from tests.web.test_browser import browser_page  # noqa: F401 - fixture: headless Chromium
from tests.web.test_web_forms import signed_in

RUN_ID = "r-outputs0001"
STEPS = ("big", "small", "stored")
PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": s, "tool": "echo", "args": {}}
                                                   for s in STEPS]})
BIG = {"text": "y" * (OUTPUT_SHOWN_CHARS + 5000), "end": "THE-END-OF-IT"}
SMALL = {"small": "output"}
URI = "artifact://sha256/" + "ab" * 32


@pytest.fixture
def services(tmp_path):
    """Services with a running run of PLAN, its steps pending."""
    services = Services(make_settings(tmp_path))
    RunStore(services.engine, services.ledger).create(
        run_id=RUN_ID, plan_id=approved_plan(services.engine, PLAN), version=1,
        plan_hash=PLAN.plan_hash(), steps=[(s, "echo") for s in STEPS], requested_by="alice",
        concurrency=1)
    transition(services, RUN_ID, "running", EventKind.RUN_START, {})
    yield services
    services.engine.dispose()


def _succeeded(services: Services) -> None:
    """Every step succeeded: a big output, a small one, one stored as an artifact."""
    with Session(services.engine) as s:
        for step, output, uri in (("big", BIG, None), ("small", SMALL, None),
                                  ("stored", None, URI)):
            s.execute(update(StepRunRow).where(StepRunRow.step_id == step).values(
                status="succeeded", attempts=1, output_uri=uri,
                output_json=None if output is None else json.dumps(output)))
        services.ledger.append(EventKind.ATTEMPT_SUCCESS, RUN_ID, "executor", {}, session=s)
        s.commit()


@pytest.fixture
def site(services):
    _succeeded(services)
    live = serve(services, worker_poll_s=None)
    yield live
    live.stop()


def test_a_long_output_is_said_to_be_cut_and_links_to_the_whole(site):
    client, _ = signed_in(site, "alice")
    page = client.get(f"/runs/{RUN_ID}").text
    whole = json.dumps(BIG, indent=2, ensure_ascii=False)
    assert whole not in page and "THE-END-OF-IT" not in page
    assert page.count('data-role="output-cut"') == 3  # one per row, shown for the cut one only
    assert page.count('data-role="output-cut" hidden') == 2
    assert f"first {OUTPUT_SHOWN_CHARS:,} of {len(whole):,} characters" in page
    link = f'href="/runs/{RUN_ID}/steps/0/output"'
    assert link in page
    full = client.get(f"/runs/{RUN_ID}/steps/0/output")
    assert full.status_code == 200 and full.headers["content-type"].startswith("application/json")
    assert full.json() == BIG
    assert str(escape(json.dumps(SMALL, indent=2))) in page  # a short one: whole, nothing said


def test_the_state_says_which_output_is_cut_and_gives_each_uri(site):
    client, _ = signed_in(site, "alice")
    steps = client.get(f"/runs/{RUN_ID}/state").json()["steps"]
    whole = json.dumps(BIG, indent=2, ensure_ascii=False)
    big, small, stored = steps
    assert big["output"] == whole[:OUTPUT_SHOWN_CHARS]
    assert big["output_cut"] is True and big["output_chars"] == len(whole)
    assert big["full_output"] == f"/runs/{RUN_ID}/steps/0/output"
    assert small["output_cut"] is False and small["output"] == json.dumps(SMALL, indent=2)
    assert stored["output_uri"] == URI and stored["output"] is None


def test_the_full_output_needs_a_reader_and_a_step_that_exists(site):
    anonymous = httpx.get(f"{site.url}/runs/{RUN_ID}/steps/0/output")
    assert anonymous.status_code == 303
    client, _ = signed_in(site, "alice")
    assert client.get(f"/runs/{RUN_ID}/steps/9/output").status_code == 404
    assert client.get("/runs/r-nosuchrun01/steps/0/output").status_code == 404
    # A step with no output inline (stored as an artifact) has none here either.
    assert client.get(f"/runs/{RUN_ID}/steps/2/output").status_code == 404


@pytest.mark.browser
def test_an_open_run_page_shows_a_stored_output_and_a_cut_one_as_they_come(  # noqa: F811
        browser_page, services):
    from playwright.sync_api import expect

    live = serve(services, worker_poll_s=None)
    try:
        page = browser_page
        page.goto(live.url + "/signin")
        page.get_by_label("API token").fill(token_of("alice"))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("who")).to_have_text("alice")
        page.goto(f"{live.url}/runs/{RUN_ID}")
        rows = page.locator("tbody tr[data-step]")
        expect(rows).to_have_count(3)
        expect(rows.nth(2).locator('[data-role="output-uri"]')).to_be_hidden()
        expect(rows.nth(0).locator('[data-role="output-cut"]')).to_be_hidden()
        _succeeded(services)
        expect(rows.nth(2).locator('[data-role="output-uri"]')).to_have_text(URI)
        expect(rows.nth(2).locator('[data-role="output-uri"]')).to_be_visible()
        cut = rows.nth(0).locator('[data-role="output-cut"]')
        expect(cut).to_be_visible()
        expect(cut).to_contain_text(f"first {OUTPUT_SHOWN_CHARS:,} of")
        expect(cut.locator("a")).to_have_attribute("href", f"/runs/{RUN_ID}/steps/0/output")
        expect(rows.nth(1).locator('[data-role="output-cut"]')).to_be_hidden()
    finally:
        live.stop()
