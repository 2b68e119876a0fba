"""A reply far off the mark: the problems sent back to the model, and shown, are bounded."""

from __future__ import annotations

import json

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from planner.problems import ProblemCode
from planner.validation import validate_plan
from tests.support.openai_server import Completion
from tools import ToolRegistry


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("files.read")
    def read(path: str) -> str:
        """Read a text file from the workspace."""
        return ""

    return reg


def _steps(count: int) -> list[dict]:
    return [{"id": f"s{i}", "tool": "nope.tool", "args": {}} for i in range(count)]


def test_a_plan_over_the_step_limit_is_refused_without_checking_its_steps(registry):
    report = validate_plan({"goal": "g", "steps": _steps(5000)}, registry, max_steps=200)
    assert [p.code for p in report.problems] == [ProblemCode.TOO_MANY_STEPS]


def test_the_repair_message_and_the_error_list_the_first_twenty_problems(
        openai_server, registry):
    wrong = json.dumps({"steps": [dict(s, args_json="{}") for s in _steps(50)]})
    openai_server.script(*[Completion(content=wrong)] * 2)
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   timeout_s=5.0, max_attempts=2))
    with pytest.raises(PlanningError) as caught:
        planner.plan("Read a.csv", registry)
    repair = openai_server.requests[1]["messages"][-1]["content"]
    assert "Problems (50):" in repair
    assert repair.count("code=unknown_tool") == 20
    assert "... and 30 more problem(s), not listed" in repair
    error = str(caught.value)
    assert error.count("unknown_tool") == 20 and "... and 30 more problem(s)" in error
    assert len(caught.value.problems) == 50  # the trace and the ledger keep them all
