"""The pure retry decision: what retries, how long it waits, and that a replay waits the same."""

from __future__ import annotations

import asyncio

import pytest

from executor.retry import backoff_s, decide, effective_policy, outcome_unknown, unsafe_repeat
from tools import Effect, RetryableToolError, RetryPolicy, ToolError, ToolInputError

POLICY = RetryPolicy(max_attempts=4, initial_backoff_s=1.0, multiplier=2.0, max_backoff_s=3.0,
                     jitter=0.0)


@pytest.mark.parametrize("error", [
    RetryableToolError("flaky"),
    ToolError("HTTP 503", retryable=True),
    asyncio.TimeoutError("slow"),
])
def test_transient_errors_are_retried(error):
    assert decide(error, 1, POLICY, seed="r:s:1") is not None


@pytest.mark.parametrize("error", [ToolInputError("bad path"), ToolError("HTTP 404"), ValueError("bug")])
def test_permanent_errors_are_not_retried(error):
    assert decide(error, 1, POLICY, seed="r:s:1") is None


def test_backoff_grows_by_the_multiplier_and_stops_at_the_maximum():
    delays = [decide(RetryableToolError("x"), n, POLICY, seed="s").delay_s for n in (1, 2, 3)]
    assert delays == [1.0, 2.0, 3.0]
    assert backoff_s(10, POLICY) == 3.0


def test_no_retry_after_the_last_attempt():
    assert decide(RetryableToolError("x"), 4, POLICY, seed="s") is None


def test_retry_after_wins_when_longer_than_the_backoff():
    decision = decide(ToolError("429", retryable=True, retry_after_s=2.5), 1, POLICY, seed="s")
    assert decision.delay_s == 2.5 and "Retry-After" in decision.reason
    shorter = decide(ToolError("429", retryable=True, retry_after_s=0.1), 2, POLICY, seed="s")
    assert shorter.delay_s == 2.0


def test_jitter_is_the_same_for_the_same_seed_and_stays_in_bounds():
    policy = POLICY.model_copy(update={"jitter": 0.5})
    first = decide(RetryableToolError("x"), 2, policy, seed="run1:step:2").delay_s
    again = decide(RetryableToolError("x"), 2, policy, seed="run1:step:2").delay_s
    others = {decide(RetryableToolError("x"), 2, policy, seed=f"run{i}:step:2").delay_s for i in range(20)}
    assert first == again
    assert len(others) > 1
    assert all(1.0 <= d <= 3.0 for d in others)


def test_a_step_policy_overrides_the_tool_policy():
    step = RetryPolicy(max_attempts=1)
    assert effective_policy(step, POLICY) is step
    assert effective_policy(None, POLICY) is POLICY


@pytest.mark.parametrize("wait_s", [3.5, 3600.0, float("inf"), float("nan")])
def test_a_retry_after_beyond_the_longest_wait_is_not_retried(wait_s):
    """max_backoff_s bounds every wait: a server asking for longer does not park the run."""
    error = ToolError("429", retryable=True)
    error.retry_after_s = wait_s  # (inf and NaN only so: making the error refuses them)
    assert decide(error, 1, POLICY, seed="s") is None
    assert decide(ToolError("429", retryable=True, retry_after_s=3.0), 1, POLICY, seed="s").delay_s == 3.0


# -- a call whose first try may have had its effect -----------------------------------------------


@pytest.mark.parametrize("error, unknown", [
    (TimeoutError("attempt timed out after 1s"), True),
    (asyncio.TimeoutError(), True),
    (RetryableToolError("503, nothing done"), False),  # the tool's own word: retry is safe
    (ToolError("HTTP 429", retryable=True, retry_after_s=1), False),
    (ValueError("bug"), False),  # tool_crashed: never retried anyway
])
def test_only_a_timeout_leaves_the_outcome_unknown(error, unknown):
    assert outcome_unknown(error) is unknown


@pytest.mark.parametrize("effect, idempotent, sends_key, refused", [
    (Effect.WRITE, False, False, True),
    (Effect.WRITE, True, False, False),
    (Effect.WRITE, False, True, False),
    (Effect.READ, False, False, False),
])
def test_a_timed_out_write_is_repeated_only_where_a_repeat_is_safe(effect, idempotent, sends_key,
                                                                    refused):
    reason = unsafe_repeat(TimeoutError("t"), tool="bank.pay", effect=effect,
                           idempotent=idempotent, sends_key=sends_key)
    assert reason == ("not retried: bank.pay is not idempotent, the first call may still have its "
                      "effect" if refused else None)


def test_a_write_refused_for_sure_may_repeat():
    assert unsafe_repeat(RetryableToolError("connection refused"), tool="bank.pay",
                         effect=Effect.WRITE, idempotent=False, sends_key=False) is None
