"""Over the API an empty goal or feedback stays a 422 naming it (the CLI exits 2 for them)."""

from __future__ import annotations

from baton.usecases.plans import plan_goal

from .test_api_basics import assert_error
from .test_api_flow import GOAL


def test_a_blank_goal_is_422_empty_goal(client_for):
    assert_error(client_for("alice").post("/plans", json={"goal": "   "}), 422, "empty_goal")


def test_blank_feedback_is_422_empty_feedback(client_for, services):
    plan_id = plan_goal(services, GOAL, services.settings.users["alice"]).plan_id
    assert_error(client_for("alice").post(f"/plans/{plan_id}/revise", json={"feedback": "  "}),
                 422, "empty_feedback")
