"""The error of a planning that ran out of attempts: bounded, and no secret in it, whole or cut.

It lists the last reply's first problems; a problem can quote a value the model wrote
(a tool name 50 kB long), and the error is stored with the plan, recorded in the ledger
and shown. Its problem lines are cut like those of the repair request, after every
configured secret is masked: a secret cut in two is recognised by no later masking.
"""

from __future__ import annotations

import json

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from tests.support.openai_server import Completion

SECRET = "xoxb-CONFIGURED-SECRET-777777"
API_KEY = "sk-q7Zx"  # shorter than a secret masked in any text: the client masks it still
# A few tens of kB whatever the reply: twenty problem lines of at most about a kB each.
ERROR_BOUND = 40_000


def _planning_error(server, registry, tools: list[str], **config) -> PlanningError:
    """The error of a planning whose every reply calls ``tools``, one step each (all unknown)."""
    steps = [{"id": f"s{i}", "tool": tool, "args_json": "{}"} for i, tool in enumerate(tools)]
    server.reject_formats = {"json_schema"}  # strict mode would forbid the names
    server.script(*[Completion(content=json.dumps({"steps": steps}))] * 2)
    planner = LLMPlanner(LLMConfig(base_url=server.base_url, model="scripted", timeout_s=10.0,
                                   max_attempts=2, **config))
    with pytest.raises(PlanningError) as caught:
        planner.plan("Read a.csv", registry)
    return caught.value


def test_problems_quoting_huge_values_give_a_bounded_error_that_lists_them_all_cut(
        openai_server, registry):
    error = _planning_error(openai_server, registry, [f"t{i}" + "t" * 50_000 for i in range(25)])
    message = str(error)
    assert len(message) < ERROR_BOUND  # it was about 1.25 MB
    assert message.count("[unknown_tool]") == 20 and "... and 5 more problem(s)" in message
    assert message.count("more characters]") >= 20  # each quoted name is cut, and says so
    assert len(error.problems) == 25 and len(error.problems[0].message) > 50_000  # kept whole


def _pieces(secret: str, length: int = 6) -> set[str]:
    return {secret[i:i + length] for i in range(len(secret) - length + 1)}


@pytest.mark.parametrize("secret", [SECRET, API_KEY])
def test_a_secret_at_any_place_near_a_cut_is_masked_whole_never_in_part(
        openai_server, registry, secret):
    # Twenty quoted names, each holding the secret a few characters further on: wherever a
    # line's cut falls, some name has the secret across it.
    tools = ["t" * offset + secret + "t" * 2_000 for offset in range(500, 700, 10)]
    config = ({"prompt_secrets": (secret,)} if secret == SECRET else {"api_key": secret})
    message = str(_planning_error(openai_server, registry, tools, **config))
    assert message.count("[unknown_tool]") == 20 and "[REDACTED]" in message
    assert not {piece for piece in _pieces(secret, min(6, len(secret) - 2)) if piece in message}


def _refusal_error(server, registry, refusal: str, **config) -> PlanningError:
    server.script(Completion(content=None, refusal=refusal))
    planner = LLMPlanner(LLMConfig(base_url=server.base_url, model="scripted", timeout_s=10.0,
                                   **config))
    with pytest.raises(PlanningError) as caught:
        planner.plan("Read a.csv", registry)
    assert caught.value.code == "model_refused"
    return caught.value


def test_a_huge_refusal_is_cut_in_the_error_and_says_how_much_more_there_was(
        openai_server, registry):
    message = str(_refusal_error(openai_server, registry, "I will not. " + "no " * 100_000))
    assert len(message) < 1_000  # it was about 300 kB: stored with the plan, recorded, shown
    assert "refused to plan: I will not. no no" in message
    assert message.endswith(" more characters]")


def test_a_short_refusal_is_shown_whole(openai_server, registry):
    message = str(_refusal_error(openai_server, registry, "I can't help with that."))
    assert message.endswith("refused to plan: I can't help with that.")


def test_a_lower_echoed_reply_limit_cuts_a_refusal_shorter_still(openai_server, registry):
    message = str(_refusal_error(openai_server, registry, "x" * 400, max_echoed_reply_chars=100))
    assert "x" * 100 + "… [300 more characters]" in message and "x" * 101 not in message


@pytest.mark.parametrize("secret", [SECRET, API_KEY])
def test_a_secret_across_the_cut_of_a_refusal_is_masked_whole_never_in_part(
        openai_server, registry, secret):
    config = ({"prompt_secrets": (secret,)} if secret == SECRET else {"api_key": secret})
    for offset in range(480, 505, 3):  # wherever the cut falls, once it goes through the secret
        refusal = "r" * offset + secret + "r" * 2_000
        message = str(_refusal_error(openai_server, registry, refusal, **config))
        masked = "r" * offset + "[REDACTED]" + "r" * 2_000
        assert f"refused to plan: {masked[:500]}… [" in message  # masked, then cut
        assert not {piece for piece in _pieces(secret, min(6, len(secret) - 2))
                    if piece in message}
