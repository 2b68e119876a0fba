"""The live run page of a run that failed and was resumed follows it to its real end."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import Session

from baton.services import Services
from executor.ledger import EventKind
from executor.store.runs import RunStore
from executor.store.schema import RunRow
from planner.plan import Plan
from tests.api.live import make_settings, serve, token_of
from tests.executor.runsupport import approved_plan
from tests.web.test_browser import browser_page  # noqa: F401 - fixture: headless Chromium

pytestmark = pytest.mark.browser

PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "echo", "args": {}}]})


def _transition(services, run_id, status, kind, payload):
    with Session(services.engine) as s:
        s.execute(update(RunRow).where(RunRow.id == run_id).values(status=status))
        services.ledger.append(kind, run_id, "executor", payload, session=s)
        s.commit()


def test_the_run_page_of_a_resumed_run_shows_its_end(browser_page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    services = Services(make_settings(tmp_path))
    run_id = "r-resumedpage1"
    RunStore(services.engine, services.ledger).create(
        run_id=run_id, plan_id=approved_plan(services.engine, PLAN), version=1,
        plan_hash=PLAN.plan_hash(), steps=[("a", "echo")], requested_by="alice", concurrency=1)
    _transition(services, run_id, "failed", EventKind.RUN_END, {"status": "failed", "error": "x"})
    _transition(services, run_id, "running", EventKind.RUN_RESUME, {"owner": "o"})
    live = serve(services)
    try:
        page = browser_page
        page.goto(live.url + "/")
        page.get_by_label("API token").fill(token_of("alice"))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("who")).to_have_text("alice")
        page.goto(live.url + f"/runs/{run_id}")
        expect(page.locator("#events li")).to_have_count(3, timeout=15_000)
        expect(page.get_by_test_id("run-status")).to_have_text("running")
        _transition(services, run_id, "succeeded", EventKind.RUN_END,
                    {"status": "succeeded", "error": None})
        expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15_000)
        expect(page.locator("#events li")).to_have_count(4)
    finally:
        live.stop()
