"""A tool's ``retry_after_s``: a number of seconds or None, and a wait the retry policy will not
make is named in the step's error, whichever tool asked for it.

A Retry-After header passed on as it was (``"120"``, an HTTP date) used to end the run as an
internal error in the executor (``TypeError`` comparing it with ``max_backoff_s``), and a
custom tool asking for a wait longer than ``max_backoff_s`` failed with its own message
only, never saying why it was not retried.
"""

from __future__ import annotations

import pytest

from executor.ledger import Ledger
from executor.records import RunStatus
from executor.retry import decide, retry_after_refusal
from executor.scheduling import StepStatus
from tests.executor.runsupport import Sleeps, make_runner, run_plan
from tools import RetryableToolError, RetryPolicy, ToolError, ToolRegistry

POLICY = RetryPolicy(max_attempts=3, initial_backoff_s=0.1, max_backoff_s=5, jitter=0.0)


@pytest.mark.parametrize("seconds", [None, 0, -0.0, 0.2, 5, 120.0, 86_400 * 365])
def test_a_number_of_seconds_or_none_is_a_retry_after(seconds):
    assert RetryableToolError("busy", retry_after_s=seconds).retry_after_s == seconds
    assert ToolError("busy", retryable=True, retry_after_s=seconds).retry_after_s == seconds


@pytest.mark.parametrize(("value", "kind", "shown"), [
    ("120", TypeError, "str '120'"),
    ("Wed, 21 Oct 2015 07:28:00 GMT", TypeError, "str 'Wed, 21 Oct 2015 07:28:00 GMT'"),
    (True, TypeError, "bool True"),
    ([1], TypeError, "list [1]"),
    (-5.0, ValueError, "float -5.0"),
    (float("nan"), ValueError, "float nan"),
    (float("inf"), ValueError, "float inf"),
    (float("-inf"), ValueError, "float -inf"),
    (10 ** 400, ValueError, "int larger than any float"),
])
def test_anything_else_is_refused_when_the_error_is_made_naming_it(value, kind, shown):
    with pytest.raises(kind) as caught:
        RetryableToolError("busy", retry_after_s=value)
    message = str(caught.value)
    assert message.startswith("retry_after_s must be a finite number of seconds, 0 or more, "
                              f"or None, not {shown}"), message
    assert "parse_retry_after" in message


def test_a_retry_after_over_max_backoff_s_ends_the_step_saying_so():
    error = RetryableToolError("busy", retry_after_s=1e300)
    assert decide(error, 1, POLICY, seed="s") is None
    assert retry_after_refusal(error, 1, POLICY) == (
        "not retried: Retry-After 1e+300s is over max_backoff_s 5")
    # Not why it ends after its last attempt, nor for an error that is never retried.
    assert retry_after_refusal(error, 3, POLICY) is None
    assert retry_after_refusal(ToolError("no", retry_after_s=60), 1, POLICY) is None
    within = RetryableToolError("busy", retry_after_s=4)
    assert retry_after_refusal(within, 1, POLICY) is None
    assert decide(within, 1, POLICY, seed="s").delay_s == 4.0


@pytest.mark.parametrize("value", ["120", float("nan"), True, -1])
def test_a_retry_after_set_wrong_after_the_error_was_made_ends_the_step_naming_it(value):
    error = RetryableToolError("busy")
    error.retry_after_s = value  # past the check made when the error was made
    assert decide(error, 1, POLICY, seed="s") is None
    refusal = retry_after_refusal(error, 1, POLICY)
    assert refusal is not None and refusal.startswith(
        "not retried: its retry_after_s must be a finite number of seconds, 0 or more, or None, "
        f"not {type(value).__name__} {value!r}"), refusal


def _registry(value: object, calls: list[int]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("x.retryafter", idempotent=True)
    def retryafter() -> int:
        """Fails retryably, asking for a wait."""
        calls.append(1)
        raise RetryableToolError("busy huge", retry_after_s=value)

    @registry.tool("x.fixed", idempotent=True)
    def fixed() -> int:
        """Fails retryably, its Retry-After fixed after the error is made."""
        calls.append(1)
        error = RetryableToolError("busy later")
        error.retry_after_s = value
        raise error

    return registry


def _run(engine, tmp_path, value: object, tool: str = "x.retryafter"):
    calls: list[int] = []
    sleeps = Sleeps()
    runner = make_runner(engine, _registry(value, calls), tmp_path, sleep=sleeps)
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "s", "tool": tool, "retry": {
        "max_attempts": 3, "initial_backoff_s": 0.1, "max_backoff_s": 5}}]})
    return record, calls, sleeps


def test_a_custom_tool_asking_for_a_wait_over_max_backoff_s_fails_at_once_saying_so(
        engine, tmp_path):
    record, calls, sleeps = _run(engine, tmp_path, 1e300)
    expected = "busy huge; not retried: Retry-After 1e+300s is over max_backoff_s 5"
    assert record.status is RunStatus.FAILED and record.error == f"step s failed: {expected}"
    (step,) = record.steps
    assert step.error == expected and step.attempts == 1 and len(calls) == 1
    assert sleeps.delays == []
    failure = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])[-1]
    assert failure.payload["error"] == expected and failure.payload["code"] == "tool_retryable"


@pytest.mark.parametrize("value", ["120", "Wed, 21 Oct 2015 07:28:00 GMT", float("nan"), True])
def test_a_tool_giving_a_retry_after_that_is_no_number_fails_its_step_not_the_run(
        engine, tmp_path, value):
    record, calls, sleeps = _run(engine, tmp_path, value)
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.status is StepStatus.FAILED and step.attempts == 1 and len(calls) == 1
    assert step.error.startswith(
        f"{'TypeError' if not isinstance(value, float) else 'ValueError'}: retry_after_s must "
        "be a finite number of seconds, 0 or more, or None, not "), step.error
    assert "internal error" not in record.error and sleeps.delays == []
    failure = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])[-1]
    assert failure.payload["code"] == "tool_crashed" and not failure.payload["retryable"]


def test_a_retry_after_made_wrong_after_the_error_fails_its_step_naming_it(engine, tmp_path):
    record, calls, _ = _run(engine, tmp_path, "120", tool="x.fixed")
    (step,) = record.steps
    assert step.error == ("busy later; not retried: its retry_after_s must be a finite number "
                          "of seconds, 0 or more, or None, not str '120' (parse a Retry-After "
                          "header with tools.builtin.http.parse_retry_after)")
    assert record.status is RunStatus.FAILED and len(calls) == 1
