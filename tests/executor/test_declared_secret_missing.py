"""A secret a tool declares (``secrets=[...]`` at registration) that is missing when the step
starts fails the step for good, naming the secret: the tool is never called.

Before, the executor left an unconfigured declared secret out of ``context.secrets`` without
a word, and the tool's ``context.secrets["CRM_TOKEN"]`` failed the step as ``KeyError:
'CRM_TOKEN'`` (``tool_crashed``). Loading the settings refuses such a tool; a runner built
without that check (or secrets changed under it) still fails closed, and clearly.
"""

from __future__ import annotations

from executor.records import RunStatus
from tests.executor.runsupport import make_runner, run_plan
from tools import Effect, ToolContext, ToolRegistry

VALUE = "crm-token-value-0042"
PLAN = {"goal": "g", "steps": [{"id": "a", "tool": "crm.note", "args": {"text": "hi"}}]}


def _registry(calls: list[dict[str, str]]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("crm.note", effect=Effect.READ, secrets=["CRM_TOKEN"])
    def note(text: str, context: ToolContext) -> bool:
        """Add a note (records the secrets it was handed).

        Args:
            text: The note.
        """
        calls.append(dict(context.secrets))
        return bool(context.secrets["CRM_TOKEN"])

    return registry


def test_a_declared_secret_that_is_not_configured_fails_the_step_naming_it(engine, tmp_path):
    calls: list[dict[str, str]] = []
    runner = make_runner(engine, _registry(calls), tmp_path, secrets={"OTHER": VALUE})
    record = run_plan(runner, engine, PLAN)
    (step,) = record.steps
    assert record.status is RunStatus.FAILED and calls == []
    assert "KeyError" not in (step.error or "")
    assert "secret 'CRM_TOKEN' is not configured" in step.error
    assert step.attempts == 1 and step.attempt_log[0].retryable is False
    assert VALUE not in step.error


def test_a_declared_secret_that_is_configured_is_handed_over(engine, tmp_path):
    calls: list[dict[str, str]] = []
    runner = make_runner(engine, _registry(calls), tmp_path,
                         secrets={"CRM_TOKEN": VALUE, "OTHER": "x"})
    assert run_plan(runner, engine, PLAN).status is RunStatus.SUCCEEDED
    assert calls == [{"CRM_TOKEN": VALUE}]
