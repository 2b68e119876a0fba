"""Where masking a URL's credential would leave an argument the policy no longer refuses, the
version is never judged on a plan other than the one written: it is stored INVALID, masked,
with a ``url_credential`` problem naming the parameter and never the value."""

from __future__ import annotations

import json

import pytest

from baton.usecases.plans import plan_from_document
from planner.problems import InvalidPlanError

CRED = "hunter3hunter3"
URL = f"https://hooks.example.com/in?token={CRED}"
PLAN = {"goal": "post it", "steps": [
    {"id": "post", "tool": "http.request", "args": {"method": "POST", "url": URL}}]}


def test_a_plan_whose_masking_would_lose_a_refusal_is_stored_invalid_without_the_value(
        services, monkeypatch):
    # A masking that hid the whole query: the rule would no longer refuse the URL.
    monkeypatch.setattr("planner.url_literals.hide_url_literals",
                        lambda text, whole=True: text.split("?")[0] + "?***")
    with pytest.raises(InvalidPlanError) as raised:
        plan_from_document(services, PLAN, services.settings.users["alice"])
    stored = raised.value.stored
    assert stored.status.value == "invalid"
    (problem,) = stored.problems
    assert problem.code.value == "url_credential" and problem.step == "post"
    assert problem.path == "$.steps[0].args.url"
    assert "literal credential in URL parameter token" in problem.message
    kept = stored.document or stored.plan.to_wire()  # read back as a plan where it is one
    assert kept["steps"][0]["args"]["url"] == "https://hooks.example.com/in?***"
    ledger = json.dumps([e.payload for e in services.ledger.events(subject=stored.plan_id)])
    assert CRED not in ledger and CRED not in str(raised.value)
    assert CRED not in json.dumps(services.plan_store.get(stored.plan_id).model_dump(mode="json"))


def test_the_plan_as_masked_is_judged_by_the_policy(services):
    stored = plan_from_document(services, PLAN, services.settings.users["alice"])
    assert stored.status.value == "denied"
    assert stored.plan.steps[0].args["url"] == "https://hooks.example.com/in?token=***"
