"""The drain's "run left unfinished" warning names in flight only the steps whose call is;
a retry not called yet (not journalled, or waiting out its backoff) is named apart."""
from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from executor.draining import Drain
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, no_wait
from tools import Effect, RetryableToolError, ToolContext, ToolRegistry


@pytest.mark.parametrize("backoff_s", [0, 30])
def test_a_retry_not_called_is_not_named_in_flight(engine, tmp_path, backoff_s):
    calls: list[int] = []
    registry = ToolRegistry()
    drain = Drain(grace_s=60)

    @registry.tool("t.flaky", effect=Effect.READ, idempotent=True,
                   retry={"max_attempts": 3, "initial_backoff_s": backoff_s,
                          "max_backoff_s": backoff_s, "jitter": 0})
    def flaky(context: ToolContext) -> int:
        """Fail the first attempt, retryably, requesting the drain."""
        calls.append(context.attempt)
        if context.attempt == 1:
            drain.request()
            raise RetryableToolError("busy")
        return context.attempt

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "t.flaky"}]})
    first = make_runner(engine, registry, tmp_path, sleep=no_wait)
    first.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice", detach=True)
    with capture_logs() as logs:
        assert first.worker(once=True, drain=drain) == 0
    assert calls == [1]
    [warning] = [e for e in logs if e["event"] == "run left unfinished: shutting down"]
    assert warning["in_flight"] == []
    [waiting] = [e for e in logs if e["event"] == "shutting down: retries left to the next owner"]
    assert waiting["steps"] == ["a"]
    assert make_runner(engine, registry, tmp_path, sleep=no_wait).worker(once=True) == 1
    # (a retry journalled waiting out its backoff is attempt 2, interrupted uncalled: 3 calls)
    assert calls == [1, 3 if backoff_s else 2]
