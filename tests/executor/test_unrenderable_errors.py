"""A tool's exception whose ``__str__`` raises fails its attempt like any tool crash, described by
its type and why its message could not be rendered (masked): it is no internal error that takes
the whole run down, and its attempt span still ends."""

from __future__ import annotations

import asyncio

from executor.calls import error_code, error_text
from executor.records import RunStatus
from executor.retry import decide
from executor.scheduling import StepStatus
from tests.executor.runsupport import Sleeps, make_runner, run_plan
from tools import RetryableToolError, RetryPolicy, ToolRegistry

SECRET = "s3cret-render-value-13"


class Weird(Exception):
    """An exception that cannot say what it is."""

    def __str__(self) -> str:
        raise RuntimeError(f"cannot render the reply to token {SECRET}")


class WeirdTimeout(asyncio.TimeoutError):
    """A timeout that cannot say what it is."""

    def __str__(self) -> str:
        raise RuntimeError("no text")


class WeirdRetryable(RetryableToolError):
    """A retryable tool error whose ``__str__`` raises (its message attribute is fine)."""

    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_the_error_text_of_an_exception_that_cannot_be_rendered_names_its_type_and_why():
    assert error_text(Weird()) == ("Weird (its message could not be rendered: RuntimeError: "
                                   f"cannot render the reply to token {SECRET})")
    assert error_code(Weird()) == "tool_crashed"
    assert error_text(WeirdTimeout()) == ("WeirdTimeout (its message could not be rendered: "
                                          "RuntimeError: no text)")


def test_a_retry_decision_on_an_error_that_cannot_be_rendered_is_still_made():
    decision = decide(WeirdRetryable("busy"), 1, RetryPolicy(max_attempts=2), seed="s")
    assert decision is not None
    assert decision.reason == ("WeirdRetryable: WeirdRetryable (its message could not be "
                               "rendered: RuntimeError: no text)")


def _registry() -> tuple[ToolRegistry, dict[str, int]]:
    registry = ToolRegistry()
    calls = {"retryable": 0}

    @registry.tool("weird")
    async def weird() -> int:
        """Fails with an exception that cannot be rendered."""
        raise Weird()

    @registry.tool("weird_sync")
    def weird_sync() -> int:
        """Fails with an exception that cannot be rendered, in its thread."""
        raise Weird()

    @registry.tool("weird_retryable", idempotent=True,
                   retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.01, jitter=0.0))
    def weird_retryable() -> int:
        """Fails once with a retryable error that cannot be rendered, then works."""
        calls["retryable"] += 1
        if calls["retryable"] == 1:
            raise WeirdRetryable("busy for now")
        return 1

    @registry.tool("ok")
    def ok() -> int:
        """Works."""
        return 1

    return registry, calls


def test_a_tool_exception_that_cannot_be_rendered_fails_its_step_not_the_run(engine, tmp_path,
                                                                             exporter):
    from opentelemetry.trace import StatusCode

    registry, calls = _registry()
    runner = make_runner(engine, registry, tmp_path, secrets={"TOKEN": SECRET}, sleep=Sleeps())
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "retried", "tool": "weird_retryable"},
        {"id": "a", "tool": "weird", "depends_on": ["retried"]},
        {"id": "b", "tool": "weird_sync", "depends_on": ["retried"]},
    ]})
    assert calls["retryable"] == 2
    assert record.status is RunStatus.FAILED
    steps = {s.step_id: s for s in record.steps}
    assert steps["retried"].status is StepStatus.SUCCEEDED
    expected = ("Weird (its message could not be rendered: RuntimeError: cannot render the "
                "reply to token [REDACTED])")
    assert steps["a"].status is StepStatus.FAILED and steps["a"].error == expected
    assert record.error == f"step a failed: {expected}"
    assert "internal error" not in record.error
    attempts = [s for s in exporter.get_finished_spans() if s.name == "baton.attempt"]
    failed = [s for s in attempts if s.attributes["baton.step_id"] == "a"]
    assert len(failed) == 1 and failed[0].status.status_code is StatusCode.ERROR
    assert failed[0].status.description == expected
    assert failed[0].events[0].attributes["exception.message"] == expected
    assert all(SECRET not in str(e.attributes) for s in attempts for e in s.events)
