"""The ``baton.run`` span says how its run ended: an attribute with the final status, ERROR with
the run's error when it failed, and an internal error recorded with configured secrets masked
(the SDK's own recording would keep the raw text, which the log and the stored error mask)."""

from __future__ import annotations

import pytest

from executor.checks import StepCall, StepDecision
from executor.records import RunStatus
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, run_plan
from tools import Effect, ToolRegistry

SECRET = "s3cret-span-value-77"


def _registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("ok")
    def ok() -> int:
        """Works."""
        return 1

    @registry.tool("bad")
    def bad() -> int:
        """Fails, naming the secret."""
        raise ValueError(f"refused with {SECRET}")

    @registry.tool("writer", effect=Effect.WRITE)
    def writer() -> int:
        """Writes something (so that the runtime check is asked)."""
        return 1

    return registry


def _run_span(exporter):
    (run_span,) = [s for s in exporter.get_finished_spans() if s.name == "baton.run"]
    return run_span


def _no_secret_in(finished) -> None:
    texts = [finished.status.description or "", *map(str, finished.attributes.values())]
    texts += [str(value) for event in finished.events for value in event.attributes.values()]
    assert all(SECRET not in text for text in texts), texts


def test_a_succeeded_run_span_names_its_status_and_stays_unset(engine, tmp_path, exporter):
    from opentelemetry.trace import StatusCode

    record = run_plan(make_runner(engine, _registry(), tmp_path), engine,
                      {"goal": "g", "steps": [{"id": "a", "tool": "ok"}]})
    assert record.status is RunStatus.SUCCEEDED
    run_span = _run_span(exporter)
    assert run_span.attributes["baton.run.status"] == "succeeded"
    assert run_span.status.status_code is StatusCode.UNSET and not run_span.events


def test_a_failed_run_span_has_error_status_with_the_runs_masked_error(engine, tmp_path,
                                                                        exporter):
    from opentelemetry.trace import StatusCode

    runner = make_runner(engine, _registry(), tmp_path, secrets={"TOKEN": SECRET})
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "a", "tool": "bad"}]})
    assert record.status is RunStatus.FAILED and "[REDACTED]" in record.error
    run_span = _run_span(exporter)
    assert run_span.attributes["baton.run.status"] == "failed"
    assert run_span.status.status_code is StatusCode.ERROR
    assert run_span.status.description == record.error
    _no_secret_in(run_span)


def test_a_cancelled_run_span_names_its_status_and_stays_unset(engine, tmp_path, exporter):
    from opentelemetry.trace import StatusCode

    runner = make_runner(engine, _registry(), tmp_path)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "ok"}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    assert runner.store.request_cancel(run_id, actor="alice")
    assert runner.run_sync(run_id).status is RunStatus.CANCELLED
    run_span = _run_span(exporter)
    assert run_span.attributes["baton.run.status"] == "cancelled"
    assert run_span.status.status_code is StatusCode.UNSET


class BreakingCheck:
    """A runtime check with a bug: it raises, its message holding a configured secret."""

    def check_step(self, call: StepCall) -> StepDecision:
        """Break."""
        raise RuntimeError(f"the check broke on {SECRET}")


def test_an_internal_error_is_recorded_on_the_run_span_with_secrets_masked(engine, tmp_path,
                                                                            exporter):
    from opentelemetry.trace import StatusCode

    runner = make_runner(engine, _registry(), tmp_path, runtime_check=BreakingCheck(),
                         secrets={"TOKEN": SECRET})
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "writer"}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    with pytest.raises(RuntimeError):
        runner.run_sync(run_id)
    assert runner.store.get(run_id, detail=False).status is RunStatus.FAILED
    run_span = _run_span(exporter)
    _no_secret_in(run_span)
    assert run_span.status.status_code is StatusCode.ERROR
    assert run_span.status.description == "RuntimeError: the check broke on [REDACTED]"
    assert run_span.attributes["baton.run.status"] == "failed"
    (event,) = run_span.events  # ours alone: the SDK's raw recording is off
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "RuntimeError"
    assert event.attributes["exception.message"] == "the check broke on [REDACTED]"
    assert event.attributes["exception.escaped"] == "True"
    assert "RuntimeError: the check broke on [REDACTED]" in event.attributes[
        "exception.stacktrace"]
