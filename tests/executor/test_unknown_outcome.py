"""A write tool that is not idempotent is never called again while its first call may have had
its effect (it timed out): a second call could pay twice.

Still retried: reads, tools declared idempotent, tools declared ``sends_idempotency_key``
(the HTTP tools, and any tool registered so: they send the step's key on every attempt, so
the service can drop a repeat), and errors a tool raises as retryable itself (it knows the
call had no effect).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from tests.executor.runsupport import HostCheck, Sleeps, make_runner, run_plan
from tests.support.http_server import Reply
from tools import Effect, RetryableToolError, ToolContext, ToolRegistry, register_http_tool
from tools.builtin.http import register_http_request

NOT_RETRIED = ("attempt timed out after 0.2s; not retried: bank.pay is not idempotent, the first "
               "call may still have its effect")


class Bank:
    """A slow write tool whose calls are counted; each call blocks until released (or 10 s)."""

    def __init__(self, **options: Any) -> None:
        self.calls: list[int] = []
        self.release = threading.Event()
        self.registry = ToolRegistry()
        options.setdefault("effect", Effect.WRITE)

        @self.registry.tool("bank.pay", timeout_s=0.2, **options)
        def pay(amount: int, method: str = "POST") -> bool:
            """Pay (a slow bank).

            Args:
                amount: How much.
                method: POST pays, GET looks.
            """
            self.calls.append(amount)
            self.release.wait(10)
            return True


def pay_plan(**step: Any) -> dict[str, Any]:
    return {"goal": "g", "steps": [{"id": "pay", "tool": "bank.pay", "args": {"amount": 100},
                                    **step}]}


def run_bank(engine, tmp_path, bank: Bank, plan: dict[str, Any]):
    runner = make_runner(engine, bank.registry, tmp_path, runtime_check=HostCheck(""),
                         sleep=Sleeps())
    try:
        return run_plan(runner, engine, plan)
    finally:
        bank.release.set()


def test_a_write_tool_that_is_not_idempotent_is_not_called_again_after_a_timeout(engine, tmp_path):
    bank = Bank()
    record = run_bank(engine, tmp_path, bank, pay_plan())
    assert record.status is RunStatus.FAILED
    assert bank.calls == [100]
    (step,) = record.steps
    assert step.attempts == 1 and step.error == NOT_RETRIED
    assert record.error == f"step pay failed: {NOT_RETRIED}"
    (failure,) = Ledger(engine).events(subject=record.id, kinds=["attempt_failure"])
    assert failure.payload["code"] == "timeout" and failure.payload["retryable"] is False
    assert failure.payload["retry_in_s"] is None


def test_a_step_retry_policy_cannot_make_a_non_idempotent_write_repeat(engine, tmp_path):
    bank = Bank()
    record = run_bank(engine, tmp_path, bank, pay_plan(retry={"max_attempts": 5}))
    assert record.steps[0].attempts == 1 and bank.calls == [100]
    assert record.steps[0].error == NOT_RETRIED


@pytest.mark.parametrize("options", [
    {"idempotent": True},   # the tool drops a repeat of the same key itself
    {"sends_idempotency_key": True},  # the service it calls drops a repeat of the same key
    {"effect": Effect.READ},
    {"effect_from_args": lambda args: Effect.READ if args.get("method") == "GET" else Effect.WRITE},
], ids=["idempotent", "sends-key", "read", "read-by-its-args"])
def test_a_timeout_is_still_retried_where_a_second_call_is_safe(engine, tmp_path, options):
    bank = Bank(**options)
    plan = pay_plan(retry={"max_attempts": 2, "initial_backoff_s": 0, "max_backoff_s": 0},
                    args={"amount": 100, "method": "GET"})
    record = run_bank(engine, tmp_path, bank, plan)
    (step,) = record.steps
    assert step.attempts == 2 and len(bank.calls) == 2
    assert step.error == "attempt timed out after 0.2s"


def test_a_tool_of_its_own_that_sends_the_key_is_retried_after_a_timeout_with_that_key(
        engine, tmp_path):
    """Not only the HTTP tools: a third-party tool declares that its service drops repeats."""
    registry, keys, release = ToolRegistry(), [], threading.Event()

    @registry.tool("ledger.post", effect=Effect.WRITE, timeout_s=0.2, sends_idempotency_key=True)
    def post(context: ToolContext) -> bool:
        """Post an entry (the ledger service drops a repeat of a key)."""
        keys.append(context.idempotency_key)
        if len(keys) == 1:
            release.wait(10)  # the first call outlives its deadline
        return True

    runner = make_runner(engine, registry, tmp_path, runtime_check=HostCheck(""), sleep=Sleeps())
    try:
        record = run_plan(runner, engine, {"goal": "g", "steps": [
            {"id": "post", "tool": "ledger.post", "retry": {"max_attempts": 2}}]})
    finally:
        release.set()
    assert record.status is RunStatus.SUCCEEDED
    (step,) = record.steps
    assert step.attempts == 2 and keys == [step.idempotency_key] * 2


def test_the_effect_decided_from_the_arguments_counts(engine, tmp_path):
    bank = Bank(effect_from_args=lambda args: Effect.READ if args.get("method") == "GET"
                else Effect.WRITE)
    record = run_bank(engine, tmp_path, bank, pay_plan(args={"amount": 100, "method": "POST"}))
    assert record.steps[0].attempts == 1 and record.steps[0].error == NOT_RETRIED


def test_an_error_the_tool_raises_as_retryable_is_still_retried(engine, tmp_path):
    """The tool knows the call had no effect (refused, 429/503): its word is taken."""
    registry = ToolRegistry()
    calls: list[str] = []

    @registry.tool("bank.pay", effect=Effect.WRITE)
    def pay() -> bool:
        """Pay."""
        calls.append("called")
        if len(calls) == 1:
            raise RetryableToolError("bank busy: 503, nothing was paid")
        return True

    runner = make_runner(engine, registry, tmp_path, runtime_check=HostCheck(""), sleep=Sleeps())
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "pay", "tool": "bank.pay"}]})
    assert record.status is RunStatus.SUCCEEDED and len(calls) == 2


def _post_step(tool: str, url: str | None = None, **extra: Any) -> dict[str, Any]:
    args: Mapping[str, Any] = {"method": "POST", "url": url} if url else {"id": "42"}
    return {"id": "send", "tool": tool, "args": dict(args), "timeout_s": 0.5,
            "retry": {"max_attempts": 2, "initial_backoff_s": 0, "max_backoff_s": 0}, **extra}


@pytest.mark.parametrize("tool", ["http.request", "crm.note"])
def test_http_tools_sending_the_idempotency_key_are_retried_after_a_timeout(
        engine, tmp_path, http_server, tool):
    """A POST that outlives the attempt's deadline: the retry carries the same key."""
    http_server.script("/hook", Reply(delay_s=5.0, applies=False), Reply(body={"ok": True}))
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    register_http_tool(registry, name="crm.note", url=http_server.url("/hook"), method="POST",
                       description="Add a note.", timeout_s=5,
                       input_schema={"type": "object", "properties": {"id": {"type": "string"}}})
    assert not registry.get(tool).idempotent and registry.get(tool).sends_idempotency_key
    runner = make_runner(engine, registry, tmp_path, runtime_check=HostCheck(""), sleep=Sleeps())
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        _post_step(tool, http_server.url("/hook") if tool == "http.request" else None)]})
    assert record.status is RunStatus.SUCCEEDED
    (step,) = record.steps
    assert [a.status for a in step.attempt_log] == [AttemptStatus.FAILED, AttemptStatus.SUCCEEDED]
    assert {r.idempotency_key for r in http_server.requests("/hook")} == {step.idempotency_key}
