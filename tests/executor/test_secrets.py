"""Secrets named in a call's arguments: checked at run time, handed over only when allowed."""

from __future__ import annotations

from executor.checks import StepCall, StepDecision
from executor.ledger import Ledger
from executor.records import RunStatus
from tools import ToolContext, ToolRegistry

from tests.executor.runsupport import make_runner, run_plan

VALUE = "s3cr3t-value-0042"


class Recorder:
    """A runtime check that answers ``allow`` and remembers what it was asked."""

    def __init__(self, allow: bool) -> None:
        self.allow = allow
        self.calls: list[StepCall] = []

    def check_step(self, call: StepCall) -> StepDecision:
        """Answer the configured verdict."""
        self.calls.append(call)
        return StepDecision(allow=self.allow, deny=() if self.allow else ("not there",))


def registry_seeing(seen: list[dict[str, str]]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("note.keep")
    def keep(text: str, context: ToolContext) -> str:
        """Records which secrets it was handed (a read-only tool: no egress, no write).

        Args:
            text: Any text.
        """
        seen.append(dict(context.secrets))
        return "kept"

    return registry


PLAN = {"goal": "g", "steps": [{"id": "a", "tool": "note.keep",
                                "args": {"text": "use ${secret:API_TOKEN}"}}]}


def test_a_read_call_naming_a_secret_is_checked_and_gets_it_only_when_allowed(engine, tmp_path):
    seen: list[dict[str, str]] = []
    allowed = Recorder(allow=True)
    ledger = Ledger(engine, secret_values=[VALUE])
    runner = make_runner(engine, registry_seeing(seen), tmp_path, runtime_check=allowed,
                         secrets={"API_TOKEN": VALUE, "OTHER": "x"}, ledger=ledger)
    assert run_plan(runner, engine, PLAN).status is RunStatus.SUCCEEDED
    assert [c.step_id for c in allowed.calls] == ["a"] and seen == [{"API_TOKEN": VALUE}]
    assert all(VALUE not in e.model_dump_json() for e in ledger.events())

    denied = Recorder(allow=False)
    runner = make_runner(engine, registry_seeing(seen), tmp_path, runtime_check=denied,
                         secrets={"API_TOKEN": VALUE})
    record = run_plan(runner, engine, PLAN)
    assert record.status is RunStatus.FAILED and len(seen) == 1
    assert "denied by runtime policy: not there" in record.steps[0].error


def test_an_unknown_secret_fails_the_step_for_good_naming_it(engine, tmp_path):
    seen: list[dict[str, str]] = []
    runner = make_runner(engine, registry_seeing(seen), tmp_path, runtime_check=Recorder(allow=True),
                         secrets={"OTHER": VALUE})
    record = run_plan(runner, engine, PLAN)
    (step,) = record.steps
    assert record.status is RunStatus.FAILED and seen == []
    assert step.attempts == 1 and "secret 'API_TOKEN' is not configured" in step.error
    assert step.attempt_log[0].retryable is False and VALUE not in step.error


def test_an_endpoint_tool_sending_its_own_header_secret_is_checked_even_without_egress_tags(
        engine, tmp_path, http_server):
    # Its plan arguments name no secret and its tags say nothing of egress: the secret in its
    # configured headers still leaves the process, so the runtime check must be asked.
    from tools.http_endpoint import register_http_tool

    registry = ToolRegistry()
    register_http_tool(registry, name="crm.lookup", url=http_server.url("/ok"), method="GET",
                       description="Look a customer up.", tags=("crm",),
                       input_schema={"type": "object", "properties": {"q": {"type": "string"}}},
                       secrets=("CRM_TOKEN",), headers={"Authorization": "Bearer ${secret:CRM_TOKEN}"})
    denied = Recorder(allow=False)
    runner = make_runner(engine, registry, tmp_path, runtime_check=denied,
                         secrets={"CRM_TOKEN": VALUE})
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "find", "tool": "crm.lookup", "args": {"q": "acme"}}]})
    assert [c.step_id for c in denied.calls] == ["find"]
    assert record.status is RunStatus.FAILED and "not there" in (record.error or "")
