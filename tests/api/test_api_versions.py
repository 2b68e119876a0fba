"""A version number names one stored version: 0 is never "the latest", anywhere it can be sent."""

from __future__ import annotations

import pytest

from baton.usecases.plans import plan_goal
from executor.store.plans import PlanNotFoundError

from .test_api_basics import assert_error

GOAL = "Summarise the amount column of sales.csv by region into summary.json"
HUGE = 99999999999999999999  # past SQLite's 64-bit integers


@pytest.fixture
def plan_id(services):
    """A plan alice asked for, waiting at the gate."""
    return plan_goal(services, GOAL, services.settings.users["alice"]).plan_id


@pytest.mark.parametrize("number", [0, -1, HUGE])
def test_the_store_refuses_a_version_below_1_or_past_the_latest(services, plan_id, number):
    with pytest.raises(PlanNotFoundError, match=f"has no version {number} "):
        services.plan_store.get(plan_id, number)
    assert services.plan_store.get(plan_id).version == 1


@pytest.mark.parametrize("number", [0, -1, HUGE])
def test_the_api_refuses_such_versions_as_invalid_requests(client_for, plan_id, number):
    bob = client_for("bob")
    for path, body in ((f"/plans/{plan_id}/approve", {"version": number}),
                       (f"/plans/{plan_id}/reject", {"version": number, "reason": "no"}),
                       ("/runs", {"plan_id": plan_id, "version": number})):
        assert_error(bob.post(path, json=body), 422, "invalid_request")
    assert_error(bob.get(f"/plans/{plan_id}/versions/{number}"), 422, "invalid_request")
    assert bob.get(f"/plans/{plan_id}").json()["latest"]["status"] == "pending_approval"


@pytest.mark.parametrize("body", [None, {}], ids=["no body", "empty object"])
def test_approve_needs_no_body_since_every_field_is_optional(client_for, plan_id, body):
    response = client_for("bob").post(f"/plans/{plan_id}/approve", json=body)
    assert response.status_code == 200, response.text
    assert [a["actor"] for a in response.json()["valid_approvals"]] == ["bob"]


@pytest.mark.parametrize("number", [True, False, "1", 1.0], ids=repr)
def test_a_version_or_concurrency_must_be_a_json_integer(client_for, plan_id, number):
    bob = client_for("bob")
    for path, body, field in (
            (f"/plans/{plan_id}/approve", {"version": number}, "version"),
            (f"/plans/{plan_id}/reject", {"version": number, "reason": "no"}, "version"),
            ("/runs", {"plan_id": plan_id, "version": number}, "version"),
            ("/runs", {"plan_id": plan_id, "concurrency": number}, "concurrency")):
        response = bob.post(path, json=body)
        assert_error(response, 422, "invalid_request")
        assert ["body", field] in [d["loc"] for d in response.json()["error"]["details"]]
    assert bob.get(f"/plans/{plan_id}").json()["latest"]["status"] == "pending_approval"
