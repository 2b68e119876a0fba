"""A step id that is a configured secret's value is masked wherever the secret scan reports it:
the gate's reasons, the refusal to run, and the problems stored with a new plan.

Over each store in turn (SQLite, then PostgreSQL).
"""

from __future__ import annotations

import json

import httpx
import pytest

from baton.services import Services
from baton.usecases.approving import approve
from baton.usecases.plans import plan_from_document
from planner.plan import Plan
from planner.problems import InvalidPlanError, ProblemCode
from planner.secret_literals import configured_secret_problems, held_secrets
from tests.support.stored_before_secret import before_secret
from tools.redaction import REDACTED

from .live import make_settings, serve, token_of

SECRET = "tok_live_5f1e2d3c4b"
NOTE = {"goal": "write the note", "steps": [
    {"id": SECRET, "tool": "files.write", "args": {"path": "note.txt", "text": "hello"}}]}


def test_the_scan_names_a_step_whose_id_is_the_value_masked():
    held = held_secrets(Plan.model_validate(NOTE), {SECRET: "NOTE_TOKEN"})
    found, copy = configured_secret_problems(NOTE, {SECRET: "NOTE_TOKEN"})
    assert held and found and SECRET not in json.dumps(copy)
    for problem in (*held, *found):
        assert problem.step == REDACTED and SECRET not in problem.model_dump_json()


@pytest.fixture
def stored(db_url, tmp_path):
    """The note plan stored and approved before SECRET was configured; then services and a
    server with it configured."""
    before = before_secret(tmp_path, db_url)
    approved = plan_from_document(before, NOTE, before.settings.users["alice"])
    approve(before, approved.plan_id, before.settings.users["bob"])
    before.engine.dispose()
    after = Services(make_settings(tmp_path, database_url=db_url, secrets={"NOTE_TOKEN": SECRET}))
    live = serve(after)
    api = httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                       headers={"Authorization": f"Bearer {token_of('alice')}"})
    yield after, api, approved.plan_id
    api.close()
    live.stop()
    after.engine.dispose()


def test_gate_reasons_and_the_run_refusal_mask_the_step_id(stored):
    _, api, plan_id = stored
    detail = api.get(f"/plans/{plan_id}")
    assert detail.status_code == 200 and SECRET not in detail.text
    assert detail.json()["gate"]["status"] == "denied"
    refused = api.post("/runs", json={"plan_id": plan_id})
    assert refused.status_code == 409 and "NOTE_TOKEN" in refused.text
    assert SECRET not in refused.text


def test_a_new_plan_with_the_value_as_step_id_stores_its_problems_masked(stored):
    services, _, _ = stored
    with pytest.raises(InvalidPlanError) as caught:
        plan_from_document(services, NOTE, services.settings.users["alice"])
    assert SECRET not in str(caught.value)
    plan_id = caught.value.stored.plan_id  # type: ignore[attr-defined]
    raw = services.plan_store.get(plan_id)  # as stored, not as shown
    problems = [p for p in raw.problems if p.code == ProblemCode.CONFIGURED_SECRET]
    assert problems and all(p.step == REDACTED for p in problems)
    assert SECRET not in json.dumps([p.model_dump(mode="json") for p in raw.problems])


def test_a_malformed_step_id_holding_the_value_is_never_spelled_out_anew(db_url, tmp_path):
    # A value of lower-case letters, digits and '-': the id is malformed, and the fix once
    # suggested for it ('s3cr3t_crm_value_xyz123') was the value with '_' for '-', which no
    # masking knew: it reached the answer, the stored problems and the ledger.
    value = "s3cr3t-crm-value-xyz123"
    services = Services(make_settings(tmp_path, database_url=db_url, secrets={"CRM": value}))
    live = serve(services)
    try:
        with httpx.Client(base_url=live.url + "/api/v1", timeout=30, headers={
                "Authorization": f"Bearer {token_of('alice')}"}) as api:
            answer = api.post("/plans/document", json={"document": {
                "goal": "read", "steps": [{"id": value, "tool": "files.read",
                                           "args": {"path": "sales.csv"}}]}})
            assert answer.status_code == 422 and "malformed_id" in answer.text
            exported = api.get("/ledger/export")
            assert exported.status_code == 200
    finally:
        live.stop()
        services.engine.dispose()
    for text in (answer.text, exported.text):
        assert value not in text and value.replace("-", "_") not in text
