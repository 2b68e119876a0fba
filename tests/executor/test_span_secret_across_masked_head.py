"""A span's error texts never hold the start of a configured secret, however the secret is
placed against the part of a long text that is masked before it is cut.

``cut_error_text`` masks a text's first ``ERROR_TEXT_MAX_CHARS`` + 65,536 characters, then
cuts what it masked to ``ERROR_TEXT_MAX_CHARS``. A secret running across the end of that
head is not matched there; the copies masked before it shrink to ``[REDACTED]`` and pull its
start into the kept part. The attempt span's status and its exception event's message kept
1,5xx characters of a 1,608-character credential echoed 42 times (its stack trace, masked
again after its cut, did not).
"""

from __future__ import annotations

import pytest

from executor import telemetry
from executor.calls import ERROR_TEXT_MAX_CHARS
from executor.records import RunStatus
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolContext, ToolRegistry
from tools.redaction import CUT_MARK

pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry SDK is an optional extra")

SECRET = "sk-live-" + "A1b2C3d4" * 200  # a long credential (a key, a JWT, a PEM)
# Enough copies that one runs across the end of the masked head, and more follow.
TEXT = "auth failed for " + SECRET * ((ERROR_TEXT_MAX_CHARS + 65_536) // len(SECRET) + 2)


def _texts(finished) -> dict[str, str]:
    (event,) = finished.events
    return {"status": finished.status.description,
            "exception.message": event.attributes["exception.message"],
            "exception.stacktrace": event.attributes["exception.stacktrace"]}


def _assert_masked_and_cut(texts: dict[str, str]) -> None:
    for where, text in texts.items():
        assert SECRET[:4] not in text, (where, text[-120:])
    for where in ("status", "exception.message"):
        assert len(texts[where]) <= ERROR_TEXT_MAX_CHARS, where
        assert texts[where].endswith(f"[REDACTED]{CUT_MARK}"), (where, texts[where][-60:])


def test_an_attempt_span_masks_a_secret_pulled_in_from_past_the_masked_head(exporter):
    current = telemetry.start_span("baton.attempt", step_id="s")
    telemetry.end_span(current, RuntimeError(TEXT), secret_values=[SECRET])
    (finished,) = exporter.get_finished_spans()
    _assert_masked_and_cut(_texts(finished))


def test_an_escaping_error_masks_a_secret_pulled_in_from_past_the_masked_head(exporter):
    with pytest.raises(RuntimeError), telemetry.span("baton.run", secret_values=[SECRET]):
        raise RuntimeError(TEXT)
    (finished,) = exporter.get_finished_spans()
    _assert_masked_and_cut(_texts(finished))


def test_a_tool_echoing_its_credential_leaves_none_of_it_on_its_span_or_step(engine, tmp_path,
                                                                             exporter):
    registry = ToolRegistry()

    @registry.tool("crm.auth", secrets=["CRM_TOKEN"], retry={"max_attempts": 1})
    def auth(context: ToolContext) -> str:
        """Fail, echoing the header it sent on every try."""
        raise RuntimeError("401 on every try; sent: "
                           + ("Bearer " + context.secrets["CRM_TOKEN"] + " ") * 42)

    record = run_plan(make_runner(engine, registry, tmp_path, secrets={"CRM_TOKEN": SECRET}),
                      engine, {"goal": "g", "steps": [{"id": "a", "tool": "crm.auth"}]})

    assert record.status is RunStatus.FAILED
    (attempt,) = [s for s in exporter.get_finished_spans() if s.name == "baton.attempt"]
    _assert_masked_and_cut(_texts(attempt))
    (step,) = record.steps
    assert SECRET[:4] not in step.error and SECRET[:4] not in (record.error or "")
