"""A credential written into a URL never reaches the model: the goal, the feedback, the
rejection reason and an earlier plan show it as ``***`` (its parameter's name kept), as the
policy rule against literal credentials in URLs reads parameters. Other parameters
(``page_token``, ``sort_key``) reach the model as written: a plan must be able to use them."""

from __future__ import annotations

import json

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from planner.plan import Plan
from tests.support.openai_server import Completion
from tools import ToolRegistry

CRED = "hunter3hunter3"
SHORT = "pw"  # hidden in a URL however short
HOST = "https://api.internal.example"


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("http.request", effect="write")
    def request(url: str, method: str = "GET") -> dict:
        """Call a URL."""
        return {}

    return reg


def _planner(openai_server) -> LLMPlanner:
    openai_server.script(Completion(content=None, refusal="no"))
    return LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted", timeout_s=5.0))


def test_a_goal_url_credential_reaches_the_model_masked(openai_server, registry):
    goal = (f"Fetch {HOST}/b?token={CRED}&page_token=abc123 then "
            f"{HOST}/db;password={SHORT} and {HOST}/c?pass%2577ord={CRED}")
    with pytest.raises(PlanningError):
        _planner(openai_server).plan(goal, registry)
    (request,) = openai_server.requests
    assert CRED not in json.dumps(request) and f"={SHORT}" not in json.dumps(request)
    assert request["messages"][1]["content"].startswith(
        f"Goal: Fetch {HOST}/b?token=***&page_token=abc123 then "
        f"{HOST}/db;password=*** and {HOST}/c?pass%2577ord=***\n")


def test_an_earlier_plan_feedback_and_reason_reach_the_model_masked(openai_server, registry):
    previous = Plan.model_validate({"goal": f"fetch {HOST}/b?apiKey={CRED}", "steps": [
        {"id": "get", "tool": "http.request", "why": f"reads {HOST}/b?apiKey={CRED}",
         "args": {"url": f"{HOST}/b?apiKey={CRED}&sort_key=created"}}]})
    with pytest.raises(PlanningError):
        _planner(openai_server).revise(previous, f"use {HOST}/x;jsessionid={CRED} instead",
                                       registry, rejection=f"not {HOST}/y#access_token={CRED}")
    (request,) = openai_server.requests
    assert CRED not in json.dumps(request)
    user = request["messages"][1]["content"]
    assert user.startswith(f"Goal: fetch {HOST}/b?apiKey=***\n")
    shape = json.loads(user.split("A previous plan for this goal:\n")[1].split("\n\nFeedback")[0])
    (step,) = shape["steps"]
    assert json.loads(step["args_json"]) == {"url": f"{HOST}/b?apiKey=***&sort_key=created"}
    assert step["why"] == f"reads {HOST}/b?apiKey=***"
    assert f"Feedback on it:\nuse {HOST}/x;jsessionid=*** instead\n" in user
    assert f"The approver rejected it: not {HOST}/y#access_token=***" in user
