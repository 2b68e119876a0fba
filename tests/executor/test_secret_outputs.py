"""A tool that echoes a configured secret (in its output or its error) leaks it nowhere.

The run loop masks secret values as soon as it takes a result from a tool:
the step rows, the run record, the artifacts on disk, the ledger and the
steps that depend on the output all see the marker, never the value; a
resumed run reads back exactly what an uninterrupted one kept in memory.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from executor.ledger import Ledger
from executor.ledger_export import export_cloudevents
from executor.records import AttemptStatus, RunStatus
from executor.scheduling import StepStatus
from tests.executor.runsupport import Sleeps, make_runner, run_plan
from tools import RetryableToolError, ToolContext, ToolError, ToolRegistry
from tools.redaction import REDACTED

SECRET = "SUPERSECRET-crm-9f8e7d"
LLM_KEY = "sk-live-LIVEKEY-0042"


def leaky_registry(seen: list[Any], broken: dict[str, bool] | None = None) -> ToolRegistry:
    """Tools that echo ``SECRET`` the ways a careless endpoint does; ``report.send`` records its input."""
    registry = ToolRegistry()
    broken = broken if broken is not None else {}

    @registry.tool("crm.echo")
    def echo(context: ToolContext) -> dict:
        """Answers as an endpoint reflecting the Authorization header it was sent."""
        return {"headers": {"Authorization": f"Bearer {SECRET}"}, SECRET: "as a key", "text": SECRET}

    @registry.tool("crm.dump")
    def dump() -> dict:
        """A large answer, kept as an artifact, with the secret on every row."""
        return {"rows": [f"row {i} for {SECRET}" for i in range(200)]}

    @registry.tool("crm.flaky")
    def flaky(context: ToolContext) -> str:
        """Fails its first attempt, retryably, naming the secret."""
        if context.attempt == 1:
            raise RetryableToolError(f"401 for Bearer {SECRET}")
        return "ok"

    @registry.tool("crm.refuse")
    def refuse() -> str:
        """Fails for good, naming the secret."""
        raise ToolError(f"forbidden: token {SECRET} is revoked", code="http_403")

    @registry.tool("report.send")
    def send(body: dict) -> dict:
        """Records what it was handed (the destination a leaked secret would reach).

        Args:
            body: What to send.
        """
        if broken.get("send"):
            raise ToolError("the report endpoint is down", code="http_400")
        seen.append(body)
        return body

    return registry


def stored_text(engine: Engine) -> str:
    """Every value of every row of the tables a run writes, as one text."""
    with engine.connect() as conn:
        return " ".join(str(value) for table in ("runs", "run_steps", "ledger")
                        for row in conn.execute(text(f"SELECT * FROM {table}")) for value in row)


def artifact_files(data_dir: Path) -> list[Path]:
    """The artifacts written under ``data_dir``."""
    return [p for p in (data_dir / "artifacts").rglob("*") if p.is_file()]


PLAN = {"goal": "check the crm and report", "steps": [
    {"id": "call", "tool": "crm.echo"},
    {"id": "dump", "tool": "crm.dump"},
    {"id": "flaky", "tool": "crm.flaky"},
    {"id": "report", "tool": "report.send", "depends_on": ["flaky"], "args": {"body": {
        "headers": {"ref": "call.value.headers"}, "text": {"ref": "call.value.text"},
        "first": {"ref": "dump.value.rows.0"}}}}]}


def test_a_secret_echoed_by_tools_reaches_no_row_record_artifact_ledger_or_dependent(
        engine, tmp_path):
    seen: list[Any] = []
    # The ledger is told no secret: the runner masks with its own secrets, before the ledger.
    runner = make_runner(engine, leaky_registry(seen), tmp_path, ledger=Ledger(engine),
                         secrets={"CRM_TOKEN": SECRET}, threshold=1000, sleep=Sleeps())
    record = run_plan(runner, engine, PLAN)

    assert record.status is RunStatus.SUCCEEDED
    assert seen == [{"headers": {"Authorization": f"Bearer {REDACTED}"}, "text": REDACTED,
                     "first": f"row 0 for {REDACTED}"}]
    call, dump, flaky, report = record.steps
    assert call.output == {"value": {"headers": {"Authorization": f"Bearer {REDACTED}"},
                                     REDACTED: "as a key", "text": REDACTED}}
    assert report.output == {"value": seen[0]}
    assert [(a.status, a.error) for a in flaky.attempt_log] == [
        (AttemptStatus.FAILED, f"401 for Bearer {REDACTED}"), (AttemptStatus.SUCCEEDED, None)]

    assert dump.output_uri is not None
    (artifact,) = artifact_files(tmp_path)
    assert SECRET not in artifact.read_text() and REDACTED in artifact.read_text()
    assert runner.artifacts.load(dump.output_uri)["value"]["rows"][199] == f"row 199 for {REDACTED}"

    assert SECRET not in stored_text(engine) and REDACTED in stored_text(engine)
    assert SECRET not in runner.store.get(record.id).model_dump_json()
    assert all(SECRET not in e.model_dump_json() for e in Ledger(engine).events())
    assert Ledger(engine).verify().ok


def test_an_error_naming_a_secret_is_masked_in_the_step_the_run_and_the_ledger(engine, tmp_path):
    progress: list[str | None] = []
    runner = make_runner(engine, leaky_registry([]), tmp_path, secrets={"CRM_TOKEN": SECRET},
                         observer=lambda p: progress.append(p.error))
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "deny", "tool": "crm.refuse"}]})

    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    expected = f"forbidden: token {REDACTED} is revoked"
    assert step.error == expected and step.attempt_log[0].error == expected
    assert record.error == f"step deny failed: {expected}"
    assert expected in progress
    assert SECRET not in stored_text(engine)
    assert SECRET not in runner.store.get(record.id).model_dump_json()


def test_the_ledgers_secret_values_such_as_the_llm_key_are_masked_in_outputs_too(engine, tmp_path):
    registry = ToolRegistry()

    @registry.tool("llm.echo")
    def echo() -> str:
        """Echoes the LLM API key (which only the ledger is told of)."""
        return f"key={LLM_KEY}"

    runner = make_runner(engine, registry, tmp_path, ledger=Ledger(engine, secret_values=[LLM_KEY]),
                         secrets={"CRM_TOKEN": SECRET})
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "a", "tool": "llm.echo"}]})
    assert record.steps[0].output == {"value": f"key={REDACTED}"}
    assert LLM_KEY not in stored_text(engine)


def test_a_resumed_run_hands_dependents_the_same_masked_output_as_an_uninterrupted_one(
        engine, tmp_path):
    plan = {"goal": "g", "steps": [
        {"id": "call", "tool": "crm.echo"},
        {"id": "report", "tool": "report.send",
         "args": {"body": {"auth": {"ref": "call.value.headers.Authorization"}}}}]}
    secrets = {"CRM_TOKEN": SECRET}

    seen_straight: list[Any] = []
    straight = run_plan(make_runner(engine, leaky_registry(seen_straight), tmp_path, secrets=secrets),
                        engine, plan)

    # The same plan, interrupted after "call" (its output stored, "report" failed), then
    # resumed by a new runner: "report" now reads "call"'s output back from the store.
    seen_resumed: list[Any] = []
    broken = {"send": True}
    registry = leaky_registry(seen_resumed, broken)
    failed = run_plan(make_runner(engine, registry, tmp_path, secrets=secrets), engine, plan)
    assert failed.status is RunStatus.FAILED and seen_resumed == []
    broken["send"] = False
    resumed = make_runner(engine, registry, tmp_path, secrets=secrets).resume_sync(failed.id)

    assert straight.status is resumed.status is RunStatus.SUCCEEDED
    assert seen_straight == seen_resumed == [{"auth": f"Bearer {REDACTED}"}]
    assert [s.output for s in straight.steps] == [s.output for s in resumed.steps]
    assert [s.status for s in resumed.steps] == [StepStatus.SUCCEEDED, StepStatus.SUCCEEDED]
    assert resumed.steps[0].attempts == 1  # "call" was not repeated: its output came from the store
    assert SECRET not in stored_text(engine)


def test_what_a_run_stored_before_its_secret_was_configured_is_masked_when_read_back(
        engine, tmp_path):
    # Stored while no secret was configured: the value is in the rows as the tools gave it.
    plain = make_runner(engine, leaky_registry([]), tmp_path)
    echoed = run_plan(plain, engine, {"goal": "g", "steps": [{"id": "call", "tool": "crm.echo"}]})
    refused = run_plan(plain, engine, {"goal": "g", "steps": [{"id": "deny", "tool": "crm.refuse"}]})
    assert SECRET in stored_text(engine)

    # Read back once the secret is configured (the application gives every secret to the ledger).
    store = make_runner(engine, leaky_registry([]), tmp_path,
                        ledger=Ledger(engine, secret_values=[SECRET])).store
    for run_id in (echoed.id, refused.id):
        assert SECRET not in store.get(run_id).model_dump_json()
    assert all(SECRET not in r.model_dump_json() for r in store.list())
    (deny,) = store.get(refused.id).steps
    assert deny.error == deny.attempt_log[0].error == f"forbidden: token {REDACTED} is revoked"
    assert store.get(echoed.id).steps[0].output["value"]["text"] == REDACTED


def test_a_secret_echoed_json_escaped_reaches_no_row_or_ledger_event(engine, tmp_path):
    token = 'tok/EN+"abc123"=='
    escaped = 'tok\\/EN+\\"abc123\\"=='  # as PHP's json_encode writes it
    registry = ToolRegistry()

    @registry.tool("crm.php_echo")
    def php_echo() -> dict:
        """Answers with the Authorization header it was sent, JSON-encoded as text."""
        return {"text": f'{{"auth":"Bearer {escaped}"}}'}

    @registry.tool("crm.php_refuse")
    def php_refuse() -> str:
        """Fails for good, quoting the JSON body that echoed the header."""
        raise ToolError(f'HTTP 400: {{"auth":"Bearer {escaped}"}}', code="http_400")

    runner = make_runner(engine, registry, tmp_path, ledger=Ledger(engine),
                         secrets={"CRM_TOKEN": token})
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "a", "tool": "crm.php_echo"}, {"id": "b", "tool": "crm.php_refuse"}]})
    assert record.steps[0].output == {"value": {"text": f'{{"auth":"Bearer {REDACTED}"}}'}}
    assert record.steps[1].error == f'HTTP 400: {{"auth":"Bearer {REDACTED}"}}'
    assert "abc123" not in stored_text(engine)
    assert all("abc123" not in e.model_dump_json() for e in Ledger(engine).events())


PIN = "904417263"  # a [secrets] value of digits only: a PIN, an account number


def test_a_numeric_secret_output_as_a_json_number_reaches_no_row_ledger_or_export(
        engine, tmp_path):
    registry = ToolRegistry()

    @registry.tool("bank.balance")
    def balance() -> dict:
        """Answers with the account's PIN as a number, inside a larger one, beside ordinary data."""
        return {"pin": int(PIN), "scaled": float(f"1{PIN}.5"), "count": 3, "ok": True}

    runner = make_runner(engine, registry, tmp_path, ledger=Ledger(engine),
                         secrets={"ACCOUNT_PIN": PIN})
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "a", "tool": "bank.balance"}]})
    assert record.steps[0].output == {"value": {"pin": REDACTED, "scaled": REDACTED,
                                                "count": 3, "ok": True}}
    assert PIN not in stored_text(engine)
    assert PIN not in runner.store.get(record.id).model_dump_json()
    exported = io.StringIO()
    export_cloudevents(Ledger(engine), exported)
    assert PIN not in exported.getvalue() and REDACTED in exported.getvalue()
    assert Ledger(engine).verify().ok
