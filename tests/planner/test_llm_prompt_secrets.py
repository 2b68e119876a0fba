"""Configured secret values are masked in the data a prompt is built from, before encoding.

An earlier plan's arguments reach the model as ``args_json`` inside the JSON reply shape:
encoded twice, a ``"`` or ``\\`` in a secret is escaped twice, which masking the finished
text (one level of escaping) does not recognise.
"""

from __future__ import annotations

import json

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from planner.plan import Plan
from tests.support.openai_server import Completion
from tools import ToolRegistry

QUOTED = 'Pa"ss\\word-9f3k2'
SHORT = 'k"7\\q'  # masked in prompts however short
ACCENTED = "clé-été-9f3k2"


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("files.write", effect="write")
    def write(path: str, text: str) -> bool:
        """Write a text file in the workspace."""
        return True

    return reg


def _previous_plan_args(user_message: str) -> dict:
    shape = user_message.split("A previous plan for this goal:\n")[1].split("\n\nFeedback")[0]
    return json.loads(json.loads(shape)["steps"][0]["args_json"])


@pytest.mark.parametrize("secret", [QUOTED, SHORT, ACCENTED])
def test_an_earlier_plan_holding_a_secret_with_quotes_reaches_the_model_masked(
        openai_server, registry, secret):
    previous = Plan.model_validate({"goal": "write the note", "steps": [
        {"id": "note", "tool": "files.write", "args": {"path": "n.txt", "text": f"code {secret}"},
         "why": f"keeps {secret}"}]})
    openai_server.script(Completion(content=None, refusal="no"))
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   timeout_s=5.0, prompt_secrets=(secret,)))
    with pytest.raises(PlanningError):
        planner.revise(previous, f"not {secret}", registry, rejection=f"shows {secret}")
    user = openai_server.requests[0]["messages"][1]["content"]
    assert _previous_plan_args(user) == {"path": "n.txt", "text": "code [REDACTED]"}
    assert '"why": "keeps [REDACTED]"' in user
    assert "Feedback on it:\nnot [REDACTED]\n" in user
    assert "The approver rejected it: shows [REDACTED]" in user
