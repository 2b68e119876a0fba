"""Over the API an empty goal or feedback stays a 422 naming it (the CLI exits 2 for them)."""

from __future__ import annotations

import pytest

from baton.usecases.plans import plan_goal

from .test_api_basics import assert_error
from .test_api_flow import GOAL


def test_a_blank_goal_is_422_empty_goal(client_for):
    assert_error(client_for("alice").post("/plans", json={"goal": "   "}), 422, "empty_goal")


def test_blank_feedback_is_422_empty_feedback(client_for, services):
    plan_id = plan_goal(services, GOAL, services.settings.users["alice"]).plan_id
    assert_error(client_for("alice").post(f"/plans/{plan_id}/revise", json={"feedback": "  "}),
                 422, "empty_feedback")


# Raw JSON: a lone surrogate escape parses to text that UTF-8 cannot encode; a NUL escape to
# text PostgreSQL cannot store. Either is the client's to change, as an empty goal is.
UNSTORABLE = {"lone surrogate": ("read \\ud800 sales.csv", 422, "invalid_request"),
              "NUL": ("read \\u0000 sales.csv", 422, "invalid_request")}


def _raw(field: str, text: str) -> dict:
    return {"content": '{"%s": "%s"}' % (field, text),
            "headers": {"Content-Type": "application/json"}}


@pytest.mark.parametrize("case", list(UNSTORABLE))
def test_a_goal_the_ledger_cannot_hold_is_a_4xx_and_nothing_is_stored(client_for, services,
                                                                       case):
    text, status, code = UNSTORABLE[case]
    assert_error(client_for("alice").post("/plans", **_raw("goal", text)), status, code)
    assert client_for("alice").get("/plans").json() == []


@pytest.mark.parametrize("case", list(UNSTORABLE))
def test_feedback_the_ledger_cannot_hold_is_a_4xx_and_the_plan_keeps_its_version(
        client_for, services, case):
    text, status, code = UNSTORABLE[case]
    plan_id = plan_goal(services, GOAL, services.settings.users["alice"]).plan_id
    alice = client_for("alice")
    assert_error(alice.post(f"/plans/{plan_id}/revise", **_raw("feedback", text)), status, code)
    assert alice.get(f"/plans/{plan_id}").json()["latest"]["version"] == 1
