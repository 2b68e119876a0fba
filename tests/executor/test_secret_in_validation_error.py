"""A pydantic ValidationError holding a long secret leaves no piece of it in a run's records.

pydantic quotes an input of 49 characters or more as its first 24 and last 23 around "...":
a tool checking its credential with a model, a tool returning its credential where its output
model wants a bool, and a ``[[tools.http]]`` endpoint answering with it where its
output_schema wants a bool each left 47 of a 50-character token in the step's and the run's
error, the ledger and the attempt span (the endpoint's error chained the ValidationError).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from executor.ledger import Ledger
from executor.records import RunStatus
from tests.executor.runsupport import HostCheck, make_runner, run_plan
from tests.executor.test_secret_outputs import stored_text
from tests.support import Reply
from tools import ToolContext, ToolRegistry
from tools.http_endpoint import register_http_tool
from tools.redaction import REDACTED

SECRET = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zQw7eRt5yUi"  # 50 characters


class _Creds(BaseModel):
    token: int


def _registry(url: str) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("crm.parse", secrets=["TOK"], retry={"max_attempts": 1})
    def parse(context: ToolContext) -> str:
        """Check the credential with a model that wants a number."""
        _Creds(token=context.secrets["TOK"])
        return "ok"

    @registry.tool("crm.check", secrets=["TOK"], retry={"max_attempts": 1})
    def check(context: ToolContext) -> bool:
        """Return the credential where a bool is declared."""
        return context.secrets["TOK"]  # type: ignore[return-value]

    register_http_tool(registry, name="crm.wrong", url=url, method="GET", secrets=["TOK"],
                       description="Answers with its token where a bool is described.",
                       headers={"Authorization": "Bearer ${secret:TOK}"},
                       output_schema={"type": "object",
                                      "properties": {"ok": {"type": "boolean"}}})
    return registry


def _pieces_in(text: str) -> list[str]:
    return [SECRET[at:at + 16] for at in range(len(SECRET) - 15) if SECRET[at:at + 16] in text]


@pytest.mark.parametrize("tool", ["crm.parse", "crm.check", "crm.wrong"])
def test_a_validation_error_holding_a_secret_leaves_no_piece_of_it(engine, tmp_path, exporter,
                                                                  http_server, tool):
    pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry SDK is an optional extra")
    http_server.script("/wrong", Reply(body={"ok": SECRET}))
    runner = make_runner(engine, _registry(http_server.url("/wrong")), tmp_path,
                         ledger=Ledger(engine), runtime_check=HostCheck(""),
                         secrets={"TOK": SECRET})
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "a", "tool": tool}]})

    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    texts: dict[str, Any] = {
        "step": step.error, "run": record.error, "stored": stored_text(engine),
        "ledger": " ".join(e.model_dump_json() for e in Ledger(engine).events())}
    (attempt,) = [s for s in exporter.get_finished_spans() if s.name == "baton.attempt"]
    texts["span"] = " ".join([attempt.status.description or ""] + [
        str(value) for event in attempt.events for value in event.attributes.values()])
    for where, text in texts.items():
        assert not _pieces_in(text), (where, text)
    # Baton's own text quotes no input at all (what it refused says what was wrong).
    assert "input_value" not in step.error and REDACTED not in step.error, step.error
