"""Text a tool hands back that the store cannot hold as it is: a lone surrogate (a file name
that is not UTF-8, a JSON ``\\udce9`` escape) or, on PostgreSQL, a NUL character.

An output holding such text fails its step, naming the field; an error text holding it is
stored escaped, the same text in the step row, its attempt log, the ledger and the run's
error. Either way the step ends once and the run ends: it is never left ``running`` for a
resume (or a worker) to repeat the call forever.
"""

from __future__ import annotations

from typing import Any

import pytest

from executor.checks import StepCall, StepDecision
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from planner.plan import Plan
from tests.executor.runsupport import Sleeps, approved_plan, make_runner, run_plan
from tools import Effect, RetryableToolError, ToolError, ToolRegistry

NOT_UTF8 = b"r\xe9sum\xe9.csv".decode("utf-8", "surrogateescape")  # as os.listdir hands it back


class AllowAll:
    """A runtime check that allows every call."""

    def check_step(self, call: StepCall) -> StepDecision:
        """Allow."""
        return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)


def write() -> int:
    """Writes somewhere (a call the runtime check is asked about)."""
    return 1


def _one_step(tool: str, **step: Any) -> dict[str, Any]:
    return {"goal": "g", "steps": [{"id": "a", "tool": tool, **step}]}


@pytest.mark.parametrize(("output", "field"), [
    ({"files": [{"name": "ok.csv"}, {"name": NOT_UTF8}]}, "value.files[1].name"),
    ({"rows": [["ok", 1], ["x", NOT_UTF8]], "z": NOT_UTF8}, "value.rows[1][1]"),
])
def test_an_output_holding_a_lone_surrogate_fails_the_step_naming_the_field(
        engine, tmp_path, output, field):
    registry = ToolRegistry()

    @registry.tool("listing")
    def listing() -> dict[str, Any]:
        """Names files as the operating system spelled them."""
        return output

    record = run_plan(make_runner(engine, registry, tmp_path), engine, _one_step("listing"))
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.status is StepStatus.FAILED
    assert step.error == (f"its result could not be stored: output field {field} holds text "
                          "that cannot be stored as UTF-8: a lone surrogate ('\\udce9'), which "
                          "is not valid Unicode; the tool must escape or replace it")
    assert record.error == f"step a failed: {step.error}"
    failure = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])[-1]
    assert failure.payload["code"] == "tool_output_not_utf8" and not failure.payload["retryable"]
    assert Ledger(engine).verify().ok


def test_an_output_holding_a_nul_is_kept_as_it_is_and_passed_on(engine, tmp_path):
    """JSON carries a NUL as an escape, so outputs (stored as JSON) keep it, PostgreSQL too."""
    registry = ToolRegistry()

    @registry.tool("binary")
    def binary() -> str:
        """Text with a NUL, as a binary body decoded as text holds."""
        return "a\x00b"

    @registry.tool("size")
    def size(text: str) -> int:
        """The length of a text."""
        return len(text)

    record = run_plan(make_runner(engine, registry, tmp_path), engine, {"goal": "g", "steps": [
        {"id": "a", "tool": "binary"},
        {"id": "b", "tool": "size", "args": {"text": {"ref": "a.value"}}}]})
    assert record.status is RunStatus.SUCCEEDED
    assert [s.output for s in record.steps] == [{"value": "a\x00b"}, {"value": 3}]


def test_an_error_text_holding_a_lone_surrogate_is_stored_escaped(engine, tmp_path):
    registry = ToolRegistry()

    @registry.tool("reader")
    def reader() -> int:
        """Fails naming a file whose name is not UTF-8."""
        raise ToolError(f"cannot read {NOT_UTF8}")

    record = run_plan(make_runner(engine, registry, tmp_path), engine, _one_step("reader"))
    _assert_failed_with(engine, record, "cannot read r\\udce9sum\\udce9.csv")


def test_an_error_text_holding_a_nul_is_stored_escaped(engine, tmp_path):
    """PostgreSQL's text cannot hold a NUL: the step used to stay running, and every resume or
    lease expiry sent its POST again. Each attempt's error is escaped, retried ones too."""
    registry = ToolRegistry()
    calls: list[int] = []

    @registry.tool("poster", effect=Effect.WRITE, idempotent=True)
    def poster() -> int:
        """Fails with a body echoing binary data, as an HTTP 400 may."""
        calls.append(1)
        raise RetryableToolError("HTTP 400: \x00\x01bad")

    runner = make_runner(engine, registry, tmp_path, sleep=Sleeps(), runtime_check=AllowAll())
    record = run_plan(runner, engine, _one_step("poster", retry={
        "max_attempts": 2, "initial_backoff_s": 0.1, "jitter": 0.0}))
    _assert_failed_with(engine, record, "HTTP 400: \\x00\x01bad", attempts=2)
    assert len(calls) == 2


def test_a_runtime_denial_holding_a_nul_is_stored_escaped(engine, tmp_path):
    class EchoingCheck:
        def check_step(self, call: StepCall) -> StepDecision:
            return StepDecision(allow=False, deny=("host \x00evil is not allowed",),
                                engine="test", bundle_hash="b" * 64)

    registry = ToolRegistry()
    registry.register_function(write, name="writer", effect=Effect.WRITE)
    runner = make_runner(engine, registry, tmp_path, runtime_check=EchoingCheck())
    record = run_plan(runner, engine, _one_step("writer"))
    assert record.status is RunStatus.FAILED
    expected = "denied by runtime policy: host \\x00evil is not allowed"
    assert record.steps[0].error == expected
    assert record.error == f"step a failed: {expected}"
    check = Ledger(engine).events(subject=record.id, kinds=["step_check"])[-1]
    assert check.payload["deny"] == ["host \\x00evil is not allowed"]
    assert Ledger(engine).verify().ok


def _assert_failed_with(engine, record, error: str, *, attempts: int = 1) -> None:
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.status is StepStatus.FAILED and step.ended_at is not None
    assert step.error == error
    assert [a.error for a in step.attempt_log] == [error] * attempts
    assert record.error == f"step a failed: {error}"
    ledger = Ledger(engine)
    failures = ledger.events(subject=record.id, kinds=["attempt_failure"])
    assert [e.payload["error"] for e in failures] == [error] * attempts
    assert ledger.events(subject=record.id)[-1].payload["error"] == f"step a failed: {error}"
    assert ledger.verify().ok


def test_a_worker_survives_an_unexpected_error_in_one_run_and_runs_the_next(engine, tmp_path):
    """An error that is no BatonError (a bug, a failing check) stops that run only: the worker
    logs it, the run ends failed (resumable) and the worker goes on with the others."""
    broken: list[str] = []

    class BrokenForOneRun(AllowAll):
        def check_step(self, call: StepCall) -> StepDecision:
            if call.run_id in broken:
                raise RuntimeError("the check broke")
            return super().check_step(call)

    registry = ToolRegistry()
    registry.register_function(write, name="writer", effect=Effect.WRITE)
    runner = make_runner(engine, registry, tmp_path, runtime_check=BrokenForOneRun())
    plan = Plan.model_validate(_one_step("writer"))
    plan_id = approved_plan(engine, plan)
    first = runner.create_run(plan_id, 1, plan, requested_by="alice", detach=True)
    second = runner.create_run(plan_id, 1, plan, requested_by="alice", detach=True)
    broken.append(first)
    assert runner.worker(once=True) == 2
    assert runner.store.get(first, detail=False).status is RunStatus.FAILED  # resumable
    assert runner.store.get(second, detail=False).status is RunStatus.SUCCEEDED
