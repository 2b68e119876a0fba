"""A step with both ``args`` and ``args_json``: never one dropped for the other silently.

The prompt asks for ``args_json`` and accepts an ``args`` object instead. A reply with
``"args": {"path": "secretdir"}, "args_json": ""`` used to become a step with no arguments.
"""

from __future__ import annotations

import json

import pytest

from evals.scripted_server import Completion
from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from planner.llm.prompt import candidate_document
from tools import ToolRegistry


def _candidate(step: dict):
    return candidate_document("List secretdir", json.dumps({"steps": [step]}), max_steps=200)


STEP = {"id": "a", "tool": "files.list", "depends_on": [], "why": "x"}


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_an_empty_args_json_leaves_the_args_object_as_the_arguments(empty):
    # The reviewer's reply: args_json says nothing, so the args object is what was meant.
    document, problems, _ = _candidate(dict(STEP, args={"path": "secretdir"}, args_json=empty))
    assert problems == []
    assert document["steps"][0]["args"] == {"path": "secretdir"}


@pytest.mark.parametrize("args_json", ['{"path": "secretdir"}', {"path": "secretdir"}])
def test_both_given_and_the_same_is_fine(args_json):
    document, problems, _ = _candidate(dict(STEP, args={"path": "secretdir"},
                                            args_json=args_json))
    assert problems == []
    assert document["steps"][0]["args"] == {"path": "secretdir"}


@pytest.mark.parametrize("args_json", ['{"path": "other"}', "{}", {"path": "other"}])
def test_both_given_and_different_is_a_problem_sent_back(args_json):
    document, problems, _ = _candidate(dict(STEP, args={"path": "secretdir"},
                                            args_json=args_json))
    assert document is None
    (problem,) = problems
    assert problem.step == "a" and problem.path == "$.steps[0].args_json"
    assert problem.message == ('the step gives both args_json and an args object, and they '
                               'differ; give the arguments once, in args_json')


def test_an_empty_args_object_beside_args_json_is_no_disagreement():
    document, problems, _ = _candidate(dict(STEP, args={}, args_json='{"path": "d"}'))
    assert problems == [] and document["steps"][0]["args"] == {"path": "d"}


def test_no_arguments_at_all_is_still_an_empty_object():
    document, problems, _ = _candidate(dict(STEP, args_json=""))
    assert problems == [] and document["steps"][0]["args"] == {}


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("files.list")
    def files_list(path: str = ".") -> list[str]:
        """List a directory."""
        return [path]

    return reg


def test_a_disagreement_is_repaired_by_the_model_not_guessed(openai_server, registry):
    both = dict(STEP, args={"path": "secretdir"}, args_json='{"path": "other"}')
    fixed = dict(STEP, args_json='{"path": "secretdir"}')
    openai_server.script(Completion(content=json.dumps({"steps": [both]})),
                         Completion(content=json.dumps({"steps": [fixed]})))
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   api_key="k", timeout_s=5.0, backoff_s=0.01))
    result = planner.plan("List secretdir", registry)
    assert result.plan.steps[0].args == {"path": "secretdir"}
    repair = json.dumps(openai_server.requests[1]["messages"])
    assert "they differ" in repair
    with pytest.raises(PlanningError):
        openai_server.script(*[Completion(content=json.dumps({"steps": [both]}))] * 5)
        planner.plan("List secretdir", registry)
