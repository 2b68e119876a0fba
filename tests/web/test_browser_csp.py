"""The pages' Content-Security-Policy in headless Chromium: the pages work under it (their
stylesheet applies, the run page's script updates it live) and refuse to be framed."""

from __future__ import annotations

import pytest

from tests.api.live import token_of

from . import test_browser

browser_page = test_browser.browser_page  # fixtures, shared with the page's other tests
waiting_plan = test_browser.waiting_plan

pytestmark = pytest.mark.browser


def refusals(page) -> list[str]:
    """Console messages of what the page's policy blocked, collected from now on."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text else None)
    return seen


def test_the_pages_work_under_their_policy(browser_page, waiting_plan):
    from playwright.sync_api import expect

    server, stored = waiting_plan
    page = browser_page
    blocked = refusals(page)
    page.goto(server.url + "/signin")
    card = page.locator("div.card.narrow")
    assert card.evaluate("el => getComputedStyle(el).maxWidth") == "480px"  # baton.css applied
    page.get_by_label("API token").fill(token_of("bob"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_have_text("bob")
    page.goto(f"{server.url}/plans/{stored.plan_id}")
    page.get_by_label("Approve version 1").fill("fine")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("approved")
    page.get_by_role("button", name="Start run").click()
    # Shown by run.js (a fetch and an EventSource): the page loads before the run ends.
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=30_000)
    page.goto(server.url + "/ledger")
    expect(page.get_by_test_id("window-check")).to_contain_text("intact")
    assert blocked == []


def test_another_site_cannot_frame_a_page(browser_page, waiting_plan):
    server, _ = waiting_plan
    page = browser_page
    blocked = refusals(page)
    # A page of another origin (about:blank's) puts the sign-in page in a frame.
    page.set_content(f'<iframe id="f" src="{server.url}/signin"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame_locator("#f")
    assert frame.get_by_role("heading", name="Sign in").count() == 0
    assert not any(f.url.startswith(server.url) for f in page.frames)
    assert any("frame-ancestors 'none'" in text for text in blocked), blocked
