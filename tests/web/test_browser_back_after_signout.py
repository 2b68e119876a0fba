"""After Sign out, the browser's Back does not show the signed-in plan page from its cache: it
asks the server again, which sends it to sign in.

The pages said nothing of caching: Back showed the whole plan page, its forms included, to
whoever used the browser next.
"""

from __future__ import annotations

import pytest

from baton.services import Services
from baton.usecases.plans import plan_from_document
from tests.api.live import make_settings, serve, token_of
from tests.support.gate_services import WRITE_PLAN
from tests.web.test_browser import browser_page  # noqa: F401 - fixture: headless Chromium

pytestmark = pytest.mark.browser


def test_back_after_sign_out_shows_the_sign_in_page(browser_page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    services = Services(make_settings(tmp_path))
    plan_id = plan_from_document(services, WRITE_PLAN, services.settings.users["alice"]).plan_id
    live = serve(services, worker_poll_s=None)
    try:
        page = browser_page
        page.goto(live.url + "/signin")
        page.get_by_label("API token").fill(token_of("bob"))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("who")).to_have_text("bob")
        page.goto(f"{live.url}/plans/{plan_id}")
        expect(page.get_by_role("button", name="Approve")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.go_back()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    finally:
        live.stop()
        services.engine.dispose()
