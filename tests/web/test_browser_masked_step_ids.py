"""The live run page keeps each step's state in its own row when the shown step ids are alike.

Step ids that became configured secrets are all shown as ``[REDACTED]``; the page's script
found a step's row (and graph box) by its id, so every step's state landed in the first
row: the running step showed as succeeded, with the other step's output.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update
from sqlmodel import Session

from baton.services import Services
from executor.ledger import EventKind
from executor.store.runs import RunStore
from executor.store.schema import StepRunRow
from planner.plan import Plan
from tests.api.live import make_settings, serve, token_of
from tests.executor.runsupport import approved_plan
from tests.support.run_lifecycle import transition
from tests.support.stored_before_secret import before_secret
from tests.web.test_browser import browser_page  # noqa: F401 - fixture: headless Chromium
from tools.redaction import REDACTED

pytestmark = pytest.mark.browser

FIRST, SECOND = "first_secret_aaaa1111", "second_secret_bbbb2222"
PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": FIRST, "tool": "echo", "args": {}},
                                                   {"id": SECOND, "tool": "echo", "args": {}}]})
RUN_ID = "r-maskedids01"


@pytest.fixture
def masked(tmp_path):
    """A running run of PLAN, stored before both step ids became secrets; services that know
    them now."""
    before = before_secret(tmp_path)
    RunStore(before.engine, before.ledger).create(
        run_id=RUN_ID, plan_id=approved_plan(before.engine, PLAN), version=1,
        plan_hash=PLAN.plan_hash(), steps=[(FIRST, "echo"), (SECOND, "echo")],
        requested_by="alice", concurrency=1)
    transition(before, RUN_ID, "running", EventKind.RUN_START, {})
    before.engine.dispose()
    services = Services(make_settings(tmp_path, secrets={"A": FIRST, "B": SECOND}))
    yield services
    services.engine.dispose()


def _steps_moved_on(services: Services) -> None:
    """The first step runs; the second succeeded: with the event the page's stream shows."""
    with Session(services.engine) as s:
        s.execute(update(StepRunRow).where(StepRunRow.step_id == FIRST).values(
            status="running", attempts=1))
        s.execute(update(StepRunRow).where(StepRunRow.step_id == SECOND).values(
            status="succeeded", attempts=1, output_json=json.dumps({"second": "output"})))
        services.ledger.append(EventKind.ATTEMPT_SUCCESS, RUN_ID, "executor", {}, session=s)
        s.commit()


def test_masked_steps_keep_their_own_rows_as_the_page_refreshes(browser_page, masked):  # noqa: F811
    from playwright.sync_api import expect

    live = serve(masked)
    try:
        page = browser_page
        page.goto(live.url + "/signin")
        page.get_by_label("API token").fill(token_of("alice"))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("who")).to_have_text("alice")
        page.goto(f"{live.url}/runs/{RUN_ID}")
        rows = page.locator("tbody tr[data-step]")
        expect(rows).to_have_count(2)
        for index in range(2):
            expect(rows.nth(index)).to_have_attribute("data-step", REDACTED)
            expect(rows.nth(index).locator('[data-role="status"]')).to_have_text("pending")
        _steps_moved_on(masked)
        second, first = rows.nth(1), rows.nth(0)
        expect(second.locator('[data-role="status"]')).to_have_text("succeeded")
        expect(second.locator('[data-role="output"]')).to_contain_text('"second": "output"')
        expect(first.locator('[data-role="status"]')).to_have_text("running")
        expect(first.locator('[data-role="attempts"]')).to_have_text("1")
        expect(first.locator('[data-role="output"]')).to_be_hidden()
    finally:
        live.stop()
