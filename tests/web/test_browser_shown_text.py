"""In a browser, an approver reads a plan's and a run's text escaped as the CLI prints it: a
right-to-left override cannot turn "0001" into "1000", on the page as served or as the run
page's script updates it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update
from sqlmodel import Session

from baton.services import Services
from baton.usecases.plans import plan_from_document
from executor.ledger import EventKind
from executor.store.runs import RunStore
from executor.store.schema import StepRunRow
from planner.plan import Plan
from tests.api.live import make_settings, serve, token_of
from tests.executor.runsupport import approved_plan
from tests.support.run_lifecycle import transition
from tests.web.test_browser import browser_page  # noqa: F401 - fixture: headless Chromium
from tests.web.test_web_shown_text import BIDI, PLAN, SHOWN

pytestmark = pytest.mark.browser

RUN_ID = "r-showntext02"


@pytest.fixture
def services(tmp_path):
    made = Services(make_settings(tmp_path))
    yield made
    made.engine.dispose()


def _signed_in(page, url: str, user: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/signin")
    page.get_by_label("API token").fill(token_of(user))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_have_text(user)


def test_an_approver_reads_the_goal_and_amount_escaped(browser_page, services):  # noqa: F811
    from playwright.sync_api import expect

    plan_id = plan_from_document(services, PLAN, services.settings.users["alice"]).plan_id
    live = serve(services, worker_poll_s=None)
    try:
        page = browser_page
        _signed_in(page, live.url, "bob")
        expect(page.get_by_test_id("queue-plan")).to_have_text(plan_id)
        page.get_by_test_id("queue-plan").click()
        expect(page.locator("h1")).to_have_text(
            f"Pay invoice 17 ({SHOWN}) to the vendor <b>R&D</b>")
        save = page.locator("#step-save")
        expect(save.locator("ul.args code").last).to_have_text('"\\u202e0001"')
        expect(save).to_contain_text(f"pay {SHOWN} to vendor")
    finally:
        live.stop()


def test_the_run_pages_script_shows_new_text_escaped(browser_page, services):  # noqa: F811
    from playwright.sync_api import expect

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "echo", "args": {}}]})
    RunStore(services.engine, services.ledger).create(
        run_id=RUN_ID, plan_id=approved_plan(services.engine, plan), version=1,
        plan_hash=plan.plan_hash(), steps=[("a", "echo")], requested_by="alice", concurrency=1)
    transition(services, RUN_ID, "running", EventKind.RUN_START, {})
    live = serve(services, worker_poll_s=None)
    try:
        page = browser_page
        _signed_in(page, live.url, "alice")
        page.goto(f"{live.url}/runs/{RUN_ID}")
        events = page.locator("#events li")
        expect(events).to_have_count(2)  # the run's creation and start
        with Session(services.engine) as s:
            s.execute(update(StepRunRow).where(StepRunRow.step_id == "a").values(
                status="succeeded", attempts=1, output_json=json.dumps({"note": BIDI})))
            services.ledger.append(EventKind.ATTEMPT_SUCCESS, RUN_ID, "ev\u2066il", {}, session=s)
            s.commit()
        expect(events).to_have_count(3)
        expect(events.last).to_have_text("3 attempt_success — ev\\u2066il")
        output = page.locator('tr[data-index="0"] [data-role="output"]')
        expect(output).to_have_text(f'{{\n  "note": "{SHOWN}"\n}}')
    finally:
        live.stop()
