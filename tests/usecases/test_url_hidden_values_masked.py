"""Each value masking hid in a plan's URLs (at least eight characters long) is masked wherever
else the version writes it, whatever wrote the plan: the goal (as stored and in the ledger's
goal event), each step's why and the problems, whether the plan is denied or stored INVALID.
A shorter one is kept there: too often an ordinary word."""

from __future__ import annotations

import pytest

from baton.usecases.plans import plan_from_document
from planner.problems import InvalidPlanError
from planner.versions import VersionStatus
from tests.support.stored_text import everything_stored

CRED = "hunter3hunter3"


def _plan(goal: str, args: dict, tool: str = "http.request") -> dict:
    return {"goal": goal, "steps": [{"id": "fetch", "tool": tool, "why": goal, "args": args}]}


def test_a_goal_word_in_a_refused_url_is_masked_in_the_goal_and_why(services):
    goal = f"get report?token={CRED} from the api"
    args = {"method": "GET", "url": f"https://api.example.com/report?token={CRED}"}
    stored = plan_from_document(services, _plan(goal, args), services.settings.users["alice"])
    assert stored.status is VersionStatus.DENIED
    assert stored.goal == stored.plan.goal == "get report?token=*** from the api"
    assert stored.plan.steps[0].why == "get report?token=*** from the api"
    (event,) = [e.payload for e in services.ledger.events(subject=stored.plan_id)
                if e.kind == "goal"]
    assert event["goal"] == "get report?token=*** from the api"
    assert CRED not in everything_stored(services, stored.plan_id)


def test_a_goal_word_in_a_decoded_body_url_is_masked_in_the_goal(services):
    body = '{"callback": "https:\\/\\/hooks.example.com\\/in?token=%s"}' % CRED
    args = {"method": "POST", "url": "https://hooks.example.com/hooks", "body": body}
    stored = plan_from_document(services, _plan(f"register with secret {CRED}", args),
                                services.settings.users["alice"])
    assert stored.goal == "register with secret ***"
    assert CRED not in everything_stored(services, stored.plan_id)


def test_an_invalid_document_masks_the_goal_word_its_url_refuses(services):
    goal = f"get report?api_key={CRED}"
    args = {"method": "GET", "url": f"https://api.example.com/report?api_key={CRED}"}
    with pytest.raises(InvalidPlanError) as raised:
        plan_from_document(services, _plan(goal, args, tool="http.nope"),
                           services.settings.users["alice"])
    stored = raised.value.stored
    assert stored.status is VersionStatus.INVALID
    assert stored.goal == "get report?api_key=***"
    assert CRED not in everything_stored(services, stored.plan_id, raised.value)


def test_a_short_value_is_kept_in_the_goal(services):
    args = {"method": "GET", "url": "https://api.example.com/report?token=admin"}
    stored = plan_from_document(services, _plan("get the admin report", args),
                                services.settings.users["alice"])
    assert stored.plan.steps[0].args["url"] == "https://api.example.com/report?token=***"
    assert stored.goal == "get the admin report"
