"""Odd 200 replies from an OpenAI-compatible endpoint: a clear, recorded planning error, no crash.

The real openai SDK talks to the scripted local server, which sends the bodies as they are.
"""

from __future__ import annotations

import json

import pytest

from evals.scripted_server import Completion, Raw, completion_body
from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from tools import ToolRegistry

KEY = "sk-odd-0a1b2c3d"


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("clock.now")
    def now() -> str:
        """The current time."""
        return "noon"

    return reg


def planner_for(server, **overrides) -> LLMPlanner:
    return LLMPlanner(LLMConfig(base_url=server.base_url, model="scripted", api_key=KEY,
                                timeout_s=5.0, backoff_s=0.01, **overrides))


def with_message(**message) -> str:
    body = completion_body(Completion(content="x"), "scripted")
    body["choices"][0]["message"] = message
    return json.dumps(body)


ODD_REPLIES = {
    "html page": (Raw(f"<html><body><h1>502 Bad Gateway</h1>{KEY}</body></html>",
                      content_type="text/html"), "an HTML page"),
    "html labelled json": (Raw("<html>oops</html>"), "a body that is not JSON"),
    "json list": (Raw("[1, 2, 3]"), "a JSON list"),
    "no choices": (Raw(json.dumps({"id": "x", "object": "chat.completion"})),
                   "an object without choices"),
    "null message": (Raw(json.dumps({"choices": [{"index": 0, "message": None}]})),
                     "a choice without a message object"),
    "null content": (Raw(with_message(role="assistant", content=None)),
                     "a message without content"),
    "list content": (Raw(with_message(role="assistant", content=[{"type": "text", "text": "{}"}])),
                     "a message whose content is a JSON list"),
    "number content": (Raw(with_message(role="assistant", content=7)),
                       "a message whose content is a JSON number"),
}


@pytest.mark.parametrize("name", ODD_REPLIES)
def test_a_reply_that_is_not_a_chat_completion_is_a_clear_recorded_planning_error(
        openai_server, registry, name):
    raw, said = ODD_REPLIES[name]
    openai_server.script(raw)
    with pytest.raises(PlanningError) as caught:
        planner_for(openai_server).plan("What time is it?", registry)
    error = caught.value
    assert error.code == "endpoint_bad_reply"
    assert said in error.message and "not a chat completion" in error.message
    assert KEY not in error.message
    (exchange,) = error.trace.exchanges
    assert exchange.error and KEY not in exchange.error and exchange.reply is None
    assert len(openai_server.requests) == 1  # a bad reply is not retried


@pytest.mark.parametrize("args_json", [[1, 2], 5, True, "[1, 2]", "\"text\""])
def test_args_json_that_is_no_object_is_reported_not_dropped(openai_server, registry, args_json):
    step = {"id": "now", "tool": "clock.now", "args_json": args_json, "depends_on": [], "why": "x"}
    reply = Completion(content=json.dumps({"steps": [step]}))
    openai_server.script(reply, reply)
    with pytest.raises(PlanningError) as caught:
        planner_for(openai_server, max_attempts=2).plan("What time is it?", registry)
    assert caught.value.code == "plan_invalid"
    (problem,) = caught.value.problems
    assert problem.path == "$.steps[0].args_json" and problem.step == "now"
    assert "args_json must" in problem.message


def test_args_json_given_as_an_object_or_left_empty_is_accepted(openai_server, registry):
    step = {"id": "now", "tool": "clock.now", "args_json": {}, "depends_on": [], "why": "x"}
    openai_server.script(Completion(content=json.dumps({"steps": [step]})))
    assert planner_for(openai_server).plan("What time?", registry).plan.steps[0].args == {}
    step["args_json"] = ""
    openai_server.script(Completion(content=json.dumps({"steps": [step]})))
    assert planner_for(openai_server).plan("What time?", registry).plan.steps[0].args == {}


NOW = {"id": "now", "tool": "clock.now", "args_json": "{}", "depends_on": [], "why": "x"}
GOOD = Completion(content=json.dumps({"steps": [NOW]}))
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_REPLIES = {
    "whole reply": DEEP,
    "args_json": json.dumps({"steps": [dict(NOW, args_json='{"x": ' + DEEP + "}")]}),
}


@pytest.mark.parametrize("where", DEEP_REPLIES)
def test_a_reply_nested_too_deeply_is_a_malformed_reply_sent_back_for_repair(
        openai_server, registry, where):
    openai_server.script(Completion(content=DEEP_REPLIES[where]), GOOD)
    result = planner_for(openai_server).plan("What time is it?", registry)
    assert [s.id for s in result.plan.steps] == ["now"]
    repair = openai_server.requests[1]["messages"][-1]["content"]
    assert "code=malformed_document" in repair and "nested too deeply" in repair
    assert result.trace.exchanges[0].problems[0].code.value == "malformed_document"


def test_replies_nested_too_deeply_every_time_are_a_planning_error(openai_server, registry):
    openai_server.script(*[Completion(content=DEEP)] * 3)
    with pytest.raises(PlanningError) as caught:
        planner_for(openai_server).plan("What time is it?", registry)
    assert caught.value.code == "plan_invalid"
    assert "nested too deeply" in caught.value.problems[0].message
    assert len(caught.value.trace.exchanges) == 3


LONE_SURROGATE = '{"steps": [{"id": "now", "tool": "clock.now", "args": {}, "why": "x\ud800"}]}'


def test_a_lone_surrogate_in_the_reply_is_recorded_escaped_and_sent_back_for_repair(
        openai_server, registry):
    # The body holds the escape \ud800 at the level of the content string: the SDK hands
    # over text that cannot be encoded as UTF-8 (nor hashed, recorded or sent back as it is).
    openai_server.script(Completion(content=LONE_SURROGATE), GOOD)
    result = planner_for(openai_server).plan("What time is it?", registry)
    assert [s.id for s in result.plan.steps] == ["now"]
    first = result.trace.exchanges[0]
    assert first.reply == LONE_SURROGATE.replace("\ud800", "\\ud800")
    assert first.problems and "lone surrogate" in first.problems[0].message
    assert openai_server.requests[1]["messages"][-2]["content"] == first.reply
    result.trace.model_dump_json().encode("utf-8")  # storable as it is


def test_lone_surrogates_in_every_reply_are_a_planning_error(openai_server, registry):
    openai_server.script(*[Completion(content=LONE_SURROGATE)] * 3)
    with pytest.raises(PlanningError) as caught:
        planner_for(openai_server).plan("What time is it?", registry)
    assert caught.value.code == "plan_invalid" and len(openai_server.requests) == 3
    caught.value.trace.model_dump_json().encode("utf-8")


def test_a_lone_surrogate_in_the_goal_is_escaped_before_it_is_hashed_and_sent(
        openai_server, registry):
    # Undecodable command-line bytes reach Python as lone surrogates: the request still goes
    # out, and validation refuses the goal (a plan must be storable as UTF-8).
    openai_server.script(GOOD, GOOD, GOOD)
    with pytest.raises(PlanningError) as caught:
        planner_for(openai_server).plan("What time is it? \udcff", registry)
    sent = openai_server.requests[0]["messages"][1]["content"]
    assert "What time is it? \\udcff" in sent
    assert caught.value.code == "plan_invalid" and "lone surrogate" in str(caught.value)
    assert all(len(e.prompt_sha256) == 64 for e in caught.value.trace.exchanges)
