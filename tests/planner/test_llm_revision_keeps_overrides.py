"""A revision shows the model each step's ``retry`` and ``timeout_s`` and reads them back.

The earlier plan was shown without them and the strict reply schema could not carry them,
so every LLM revision dropped a step's own retry policy and time limit, on steps the
feedback never touched. The model here answers with the plan it was shown, one URL
changed: the revision differs from it in that URL only.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from evals.scripted_server import Completion, ScriptedOpenAIServer
from planner.base import PlanningError
from planner.diff import StepChange, diff_plans
from planner.llm import LLMConfig, LLMPlanner
from planner.llm.prompt import extract_json
from planner.plan import Plan
from planner.problems import ProblemCode
from tests.support.openai_server import refuse_remote_endpoints
from tools import ToolRegistry

STATUS = "https://api.internal.example/status"
PREVIOUS = Plan.model_validate({"goal": "fetch the status page", "steps": [
    {"id": "get", "tool": "web.get", "args": {"url": STATUS}, "why": "fetch",
     "timeout_s": 600, "retry": {"max_attempts": 1, "initial_backoff_s": 0, "max_backoff_s": 0}},
    {"id": "keep", "tool": "web.get", "args": {"url": "https://example.org/"},
     "timeout_s": 2.5},
]})


class EchoingServer(ScriptedOpenAIServer):
    """Answers a revision with the plan it was shown, its first URL given ``?verbose=1``;
    answers from its script while it has one."""

    def _answer(self, body: dict[str, Any], headers: dict[str, str]) -> Any:
        if self.pending:
            return super()._answer(body, headers)
        with self._lock:
            self.requests.append(body)
        shown = extract_json(body["messages"][-1]["content"])
        first = shown["steps"][0]
        first["args_json"] = json.dumps({"url": STATUS + "?verbose=1"})
        schema = body["response_format"]["json_schema"]["schema"]
        jsonschema.validate(shown, schema)  # the strict schema carries what it was shown
        return Completion(content=json.dumps(shown))


@pytest.fixture
def server(monkeypatch):
    refuse_remote_endpoints(monkeypatch)
    started = EchoingServer().start()
    yield started
    started.stop()


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("web.get")
    def get(url: str) -> str:
        """Fetch a web page."""
        return ""

    return reg


def _planner(server, **overrides: Any) -> LLMPlanner:
    return LLMPlanner(LLMConfig(base_url=server.base_url, model="scripted", timeout_s=5.0,
                                backoff_s=0.01, **overrides))


def test_a_revision_keeps_the_retry_and_timeout_of_the_steps_it_does_not_change(
        server, registry):
    revised = _planner(server).revise(PREVIOUS, "add verbose=1 to the URL", registry).plan
    diff = diff_plans(PREVIOUS, revised)
    assert diff.changed == (StepChange(step="get", paths=("$.args.url",)),)
    assert not (diff.added or diff.removed or diff.reordered or diff.goal_changed)
    changed = [line for line in diff.text.splitlines()
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 2 and all("url" in line for line in changed), changed
    assert revised.steps[0].retry == PREVIOUS.steps[0].retry
    assert (revised.steps[0].timeout_s, revised.steps[1].timeout_s) == (600, 2.5)


def test_the_model_is_shown_each_step_s_retry_and_timeout(server, registry):
    _planner(server).revise(PREVIOUS, "add verbose=1 to the URL", registry)
    shown = extract_json(server.requests[0]["messages"][-1]["content"])["steps"]
    assert shown[0]["timeout_s"] == 600 and shown[0]["retry"]["max_attempts"] == 1
    assert shown[1]["timeout_s"] == 2.5 and shown[1]["retry"] is None


def test_a_retry_or_timeout_the_plan_contract_refuses_goes_back_to_the_model(
        server, registry):
    bad = {"steps": [{"id": "get", "tool": "web.get", "args_json": json.dumps({"url": STATUS}),
                      "depends_on": [], "why": "", "timeout_s": 0,
                      "retry": {"max_attempts": 0, "initial_backoff_s": 0, "multiplier": 2,
                                "max_backoff_s": 0, "jitter": 0}}]}
    server.script(Completion(content=json.dumps(bad)))
    with pytest.raises(PlanningError) as caught:
        _planner(server, max_attempts=1).plan("fetch the status page", registry)
    paths = {p.path for p in caught.value.problems if p.code is ProblemCode.WRONG_SHAPE}
    assert {"$.steps[0].timeout_s", "$.steps[0].retry.max_attempts"} <= paths, paths


def test_a_fresh_plan_writing_null_overrides_has_none(server, registry):
    step = {"id": "get", "tool": "web.get", "args_json": json.dumps({"url": STATUS}),
            "depends_on": [], "why": "fetch", "timeout_s": None, "retry": None}
    server.script(Completion(content=json.dumps({"steps": [step]})))
    plan = _planner(server).plan("fetch the status page", registry).plan
    assert plan.steps[0].retry is None and plan.steps[0].timeout_s is None
