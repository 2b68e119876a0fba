"""A step id that became a configured secret's value after its run is masked wherever the run
is shown: the API's run, the run page and the page's state, as the plan page masks it.

Over each store in turn (SQLite, then PostgreSQL).
"""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services
from baton.usecases.runs import show_run
from executor.store.runs import RunStore
from planner.plan import Plan
from tests.executor.runsupport import approved_plan
from tests.support.run_lifecycle import transition
from tests.support.stored_before_secret import before_secret
from tests.web.test_web_forms import signed_in
from tools.redaction import REDACTED
from executor.ledger import EventKind

from .live import make_settings, serve, token_of

SECRET = "stepsecret_5f1e2d3c4b"
PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": SECRET, "tool": "echo", "args": {}},
                                                   {"id": "after", "tool": "echo", "args": {}}]})
RUN_ID = "r-stepsecret01"


@pytest.fixture
def after(db_url, tmp_path):
    """A run of PLAN stored before SECRET was configured; services with it configured."""
    before = before_secret(tmp_path, db_url)
    RunStore(before.engine, before.ledger).create(
        run_id=RUN_ID, plan_id=approved_plan(before.engine, PLAN), version=1,
        plan_hash=PLAN.plan_hash(), steps=[(SECRET, "echo"), ("after", "echo")],
        requested_by="alice", concurrency=1)
    transition(before, RUN_ID, "failed", EventKind.RUN_END, {"status": "failed", "error": "x"})
    before.engine.dispose()
    services = Services(make_settings(tmp_path, database_url=db_url,
                                      secrets={"STEP_TOKEN": SECRET}))
    yield services
    services.engine.dispose()


def test_show_run_masks_a_step_id_that_is_a_secret(after):
    record = show_run(after, RUN_ID)
    assert [step.step_id for step in record.steps] == [REDACTED, "after"]
    assert SECRET not in record.model_dump_json()


def test_the_api_and_the_run_pages_mask_it(after):
    live = serve(after)
    try:
        api = httpx.Client(base_url=live.url, timeout=30,
                           headers={"Authorization": f"Bearer {token_of('alice')}"})
        client, _ = signed_in(live, "alice")
        shown = [api.get(f"/api/v1/runs/{RUN_ID}"), client.get(f"/runs/{RUN_ID}"),
                 client.get(f"/runs/{RUN_ID}/state")]
        for response in shown:
            assert response.status_code == 200 and SECRET not in response.text, response.url
        assert [s["step_id"] for s in shown[2].json()["steps"]] == [REDACTED, "after"]
    finally:
        live.stop()
