"""The web page in headless Chromium: an approver signs in, approves, runs, sees it finish."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from baton.services import Services
from baton.usecases.approving import approve
from baton.usecases.gates import gate_state
from baton.usecases.plans import plan_goal
from baton.web.session import SIGNIN_COOKIE
from tests.api.live import make_settings, serve, token_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
GOAL = "Summarise the amount column of sales.csv by region into summary.json"

pytestmark = pytest.mark.browser
BROWSER_WAIT_MS = 20_000


@pytest.fixture
def browser_page():
    """A Chromium page driven by Playwright (skipped only when Chromium is not installed)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    # Generous waits: CI runs the suite on every core, so a page can take seconds under
    # load (Playwright's 5 s default made these tests fail now and then, never wrongly pass).
    expect.set_options(timeout=BROWSER_WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(BROWSER_WAIT_MS)
        yield page
        browser.close()


@pytest.fixture
def waiting_plan(tmp_path):
    """A server with alice's plan waiting for exactly one more approver (bob)."""
    services = Services(make_settings(tmp_path))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    if gate_state(services, stored.plan_id).missing_count > 1:  # the policy asks for two
        approve(services, stored.plan_id, services.settings.users["carol"])
    assert gate_state(services, stored.plan_id).missing_count == 1
    live = serve(services)
    yield live, stored
    live.stop()


def test_an_approver_signs_in_approves_runs_and_sees_the_run_finish(browser_page, waiting_plan):
    from playwright.sync_api import expect

    server, stored = waiting_plan
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(server.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API token").fill(token_of("bob"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_have_text("bob")

    page.get_by_test_id("queue-plan").filter(has_text=stored.plan_id).click()
    expect(page.get_by_test_id("plan-status")).to_have_text("pending approval")
    expect(page.locator("#step-summary a.ref")).to_have_text("⟶ load.text")
    expect(page.get_by_test_id("decision")).to_contain_text("Risk")
    page.screenshot(path=str(ARTIFACTS / "plan-page.png"), full_page=True)

    page.get_by_label("Approve version 1").fill("numbers look right")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("approved")
    expect(page.get_by_test_id("history")).to_contain_text("numbers look right")

    page.get_by_role("button", name="Start run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=30_000)
    expect(page.locator('tr[data-step="save"] [data-role="status"]')).to_have_text("succeeded")
    expect(page.locator('tr[data-step="summary"] [data-role="output"]')).to_contain_text("north")
    page.screenshot(path=str(ARTIFACTS / "run-page.png"), full_page=True)


def test_signing_in_with_an_unknown_token_is_refused(browser_page, waiting_plan):
    from playwright.sync_api import expect

    server, _ = waiting_plan
    page = browser_page
    page.goto(server.url + "/signin")
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not known")
    # Only the sign-in form's CSRF cookie, scoped to /signin; no session was opened.
    cookies = page.context.cookies()
    assert [(c["name"], c["path"]) for c in cookies] == [(SIGNIN_COOKIE, "/signin")]
