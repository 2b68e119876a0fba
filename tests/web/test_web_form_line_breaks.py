"""A form's line breaks are read as LF: browsers send a textarea's as CRLF.

A 4,000-character goal with 100 line breaks, which the page's textarea accepts
(maxlength counts a line break once), was refused as 4,100 characters, and the goals and
feedback the page sent were stored with CRLF where the API and the CLI store LF.
"""

from __future__ import annotations

import httpx
import pytest

from baton.limits import FEEDBACK_MAX_CHARS, GOAL_MAX_CHARS
from baton.services import Services
from baton.usecases.plan_listing import listed_plans
from baton.usecases.plans import plan_goal
from tests.api.live import make_settings, serve
from tests.web.test_web_forms import GOAL, signed_in
from tools import BatonError


@pytest.fixture
def site(tmp_path):
    services = Services(make_settings(tmp_path))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    live = serve(services)
    yield live, services, stored
    live.stop()


def _lines(total: int, breaks: int, newline: str) -> str:
    """``total`` characters, LF counted as one, ``breaks`` of them line breaks sent as
    ``newline``."""
    line = "x" * (total // breaks - 1)
    return newline.join([line] * breaks) + newline


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_a_goal_at_the_limit_with_browser_line_breaks_is_planned_with_lf(site, monkeypatch,
                                                                        newline):
    server, _, _ = site
    seen: list[str] = []

    def planned(services, goal, requester, planner=None):
        seen.append(goal)
        raise BatonError("not planned in this test")

    monkeypatch.setattr("baton.usecases.plans.plan_goal", planned)
    alice, csrf = signed_in(server, "alice")
    goal = _lines(GOAL_MAX_CHARS, 100, newline)
    response = alice.post("/plans", data={"csrf": csrf, "goal": goal}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert seen == [goal.replace(newline, "\n")]
    assert len(seen[0]) == GOAL_MAX_CHARS


def test_feedback_at_the_limit_with_crlf_is_read_with_lf(site, monkeypatch):
    server, _, stored = site
    seen: list[str] = []

    def revised(services, plan_id, feedback, actor, planner=None):
        seen.append(feedback)
        raise BatonError("not revised in this test")

    monkeypatch.setattr("baton.usecases.plans.revise_plan", revised)
    alice, csrf = signed_in(server, "alice")
    feedback = _lines(FEEDBACK_MAX_CHARS, 100, "\r\n")
    response = alice.post(f"/plans/{stored.plan_id}/revise",
                          data={"csrf": csrf, "feedback": feedback}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert seen == [feedback.replace("\r\n", "\n")]


def test_a_goal_over_the_limit_once_read_with_lf_is_still_refused(site):
    server, _, _ = site
    alice, csrf = signed_in(server, "alice")
    goal = _lines(GOAL_MAX_CHARS, 100, "\r\n") + "y"
    response = alice.post("/plans", data={"csrf": csrf, "goal": goal})
    assert response.status_code == 422
    assert f"({GOAL_MAX_CHARS + 1} sent)" in response.text


def test_a_web_goal_is_stored_with_lf_like_the_apis(site):
    server, services, _ = site
    alice, csrf = signed_in(server, "alice")
    goal = GOAL.replace(" by region", "\r\nby region\r\n")
    alice.post("/plans", data={"csrf": csrf, "goal": goal})
    newest = listed_plans(services, None, 1)[0].version
    assert newest.goal == GOAL.replace(" by region", "\nby region\n")
    api = httpx.post(server.url + "/api/v1/plans", json={"goal": goal.replace("\r\n", "\n")},
                     headers={"Authorization": "Bearer alice-secret-token"}, timeout=30)
    assert api.status_code in (200, 201), api.text
    assert listed_plans(services, None, 1)[0].version.goal == newest.goal
