"""A 429 whose Retry-After is longer than the planner's longest retry wait is not retried early.

The wait was cut to ``max_backoff_s`` (30 s) and the request sent again before the endpoint
said it would take one: planning now fails at once, naming the wait the endpoint asked for
and the setting that bounds the planner's waits, as the executor does for a step.
"""

from __future__ import annotations

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner, retry_delay
from tests.support.openai_server import Completion, Failure

REPLY = ('{"steps": [{"id": "load", "tool": "files.read", "args_json": "{\\"path\\": \\"a.csv\\"}",'
         ' "depends_on": [], "why": "read it", "retry": null, "timeout_s": null}]}')


def _planner(server, **overrides) -> LLMPlanner:
    return LLMPlanner(LLMConfig(base_url=server.base_url, model="scripted", timeout_s=5.0,
                                backoff_s=0.01, **overrides))


def test_a_retry_after_over_the_longest_wait_fails_at_once_naming_the_wait(
        openai_server, registry):
    openai_server.script(Failure(status=429, headers={"Retry-After": "120"}),
                         Completion(content=REPLY))
    with pytest.raises(PlanningError) as caught:
        _planner(openai_server, max_backoff_s=0.2).plan("Read a.csv", registry)
    assert len(openai_server.requests) == 1  # not sent again before the endpoint asked
    error = caught.value
    assert error.code == "endpoint_unreachable"
    message = str(error)
    assert "Retry-After 120 s" in message and "max_backoff_s" in message, message
    assert "not retried" in message and openai_server.base_url in message
    assert len(error.trace.exchanges) == 1 and "429" in error.trace.exchanges[0].error


def test_a_retry_after_within_the_longest_wait_is_honoured(openai_server, registry):
    openai_server.script(Failure(status=429, headers={"Retry-After": "0.05"}),
                         Completion(content=REPLY))
    result = _planner(openai_server, max_backoff_s=0.2).plan("Read a.csv", registry)
    assert len(openai_server.requests) == 2 and result.plan.steps[0].id == "load"


def test_retry_delay_says_no_retry_for_a_wait_over_the_maximum():
    assert retry_delay(1, base_s=0.5, max_s=30, retry_after_s=120) is None
    assert retry_delay(1, base_s=0.5, max_s=30, retry_after_s=30) == 30
    assert retry_delay(3, base_s=0.5, max_s=30, retry_after_s=None) == 2
