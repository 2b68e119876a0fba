"""The live run page of a run that failed and was resumed follows it to its real end."""

from __future__ import annotations

import pytest

from baton.services import Services
from executor.ledger import EventKind
from tests.api.live import make_settings, serve, token_of
from tests.support.run_lifecycle import resumed_run, transition
from tests.web.test_browser import browser_page  # noqa: F401 - fixture: headless Chromium

pytestmark = pytest.mark.browser


def test_the_run_page_of_a_resumed_run_shows_its_end(browser_page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    services = Services(make_settings(tmp_path))
    run_id = "r-resumedpage1"
    resumed_run(services, run_id)
    live = serve(services)
    try:
        page = browser_page
        page.goto(live.url + "/")
        page.get_by_label("API token").fill(token_of("alice"))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("who")).to_have_text("alice")
        page.goto(live.url + f"/runs/{run_id}")
        expect(page.locator("#events li")).to_have_count(3)
        expect(page.get_by_test_id("run-status")).to_have_text("running")
        transition(services, run_id, "succeeded", EventKind.RUN_END,
                    {"status": "succeeded", "error": None})
        expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
        expect(page.locator("#events li")).to_have_count(4)
    finally:
        live.stop()
