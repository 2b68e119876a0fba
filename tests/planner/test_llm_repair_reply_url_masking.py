"""The model's own reply, sent back to it for repair, holds no credential the policy refuses in
a URL: not where the reply wraps its plan in prose and writes the URL escaped (``https:\\/\\/``,
``\\u0026token=``), not in the beginning of a reply too long to send back whole, and not in
the goal of that repair request when the model copied the goal's words into a refused URL."""

from __future__ import annotations

import json

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from tests.support.openai_server import Completion
from tools import ToolRegistry

CRED = "hunter3hunter3"


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("http.request", effect="write")
    def request(url: str, method: str = "GET") -> dict:
        """Call a URL."""
        return {}

    return reg


def _invalid_plan(url: str) -> str:
    # An unknown tool: the reply is sent back for repair.
    step = {"id": "fetch", "tool": "http.nope", "why": "read it", "depends_on": [],
            "args_json": json.dumps({"method": "GET", "url": url}), "retry": None,
            "timeout_s": None}
    return json.dumps({"steps": [step]})


def _second_request(openai_server, registry, reply: str, *, goal: str = "Fetch the b report",
                    max_echoed: int = 32_000) -> dict:
    openai_server.script(Completion(content=reply), Completion(content=None, refusal="no"))
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   timeout_s=5.0, max_echoed_reply_chars=max_echoed))
    with pytest.raises(PlanningError):
        planner.plan(goal, registry)
    assert len(openai_server.requests) == 2
    return openai_server.requests[1]


ESCAPED = _invalid_plan(f"https://api.example/b?token={CRED}").replace("/", "\\/")
ESCAPED_AMPERSAND = _invalid_plan(f"https://api.example/b?a=1&token={CRED}").replace(
    "/", "\\/").replace("&", "\\u0026")


@pytest.mark.parametrize("reply", [
    f"Here is the plan:\n{ESCAPED}\nI hope it helps.",
    f"Plan: {ESCAPED_AMPERSAND} (done)",
    f"```json\n{ESCAPED}\n```",
], ids=["escaped slashes in prose", "escaped ampersand in prose", "fenced"])
def test_an_escaped_url_credential_in_a_reply_is_not_sent_back(openai_server, registry, reply):
    request = _second_request(openai_server, registry, reply)
    assistant = [m["content"] for m in request["messages"] if m["role"] == "assistant"]
    assert assistant and CRED not in json.dumps(request)
    assert "token=***" in assistant[0].replace("\\", "")


def test_a_reply_cut_before_it_is_sent_back_holds_no_escaped_credential(openai_server,
                                                                        registry):
    padding = " ".join(["word"] * 20)
    reply = f"Plan: {padding} {ESCAPED} " + "x" * 2_000
    request = _second_request(openai_server, registry, reply, max_echoed=600)
    assert CRED not in json.dumps(request)
    assert CRED[:6] not in json.dumps(request)  # nor the part a cut leaves


def test_prose_with_an_escaped_url_credential_is_not_sent_back(openai_server, registry):
    reply = f"I would call https:\\/\\/api.example\\/b?token={CRED} but need a tool."
    request = _second_request(openai_server, registry, reply)
    assert CRED not in json.dumps(request)


def test_a_goal_word_the_model_copied_into_a_refused_url_is_masked_on_repair(openai_server,
                                                                            registry):
    goal = f"fetch report?token={CRED} from the api"
    reply = _invalid_plan(f"https://api.example.com/report?token={CRED}")
    request = _second_request(openai_server, registry, reply, goal=goal)
    assert CRED not in json.dumps(request)
    assert "Goal: fetch report?token=*** from the api" in json.dumps(request)


def test_a_reply_without_credentials_is_sent_back_as_written(openai_server, registry):
    reply = f"Here it is: {_invalid_plan('https://api.example/b?page_token=abcdefgh12')}"
    request = _second_request(openai_server, registry, reply)
    (assistant,) = [m["content"] for m in request["messages"] if m["role"] == "assistant"]
    assert assistant == reply
