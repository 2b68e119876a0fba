"""A span records an error's text as the step, ledger and log do: masked, then cut to
``ERROR_TEXT_MAX_CHARS`` with the cut mark.

A tool exception with a 3 MB message was recorded on its attempt span in full three times
over (the status, the exception event's message and its stack trace), each masked whole,
while every other place kept its first 2,000 characters.
"""

from __future__ import annotations

import pytest

from executor import telemetry
from executor.calls import ERROR_TEXT_MAX_CHARS
from executor.records import RunStatus
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolRegistry
from tools.redaction import CUT_MARK

pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry SDK is an optional extra")

SECRET = "s3cret-span-huge-value-17"
SIZE = 3_000_000


class HugeError(Exception):
    """An exception whose message is megabytes long, naming the secret across the cut."""

    def __str__(self) -> str:
        text = SECRET + "H" * SIZE
        at = ERROR_TEXT_MAX_CHARS - 12
        return text[:at] + SECRET + text[at:]


def _raise_huge() -> None:
    try:
        raise OSError(f"cause naming {SECRET} " + "c" * SIZE)
    except OSError as exc:
        raise HugeError() from exc


def _caught() -> HugeError:
    try:
        _raise_huge()
    except HugeError as exc:
        exc.add_note("note " + "n" * SIZE)
        return exc
    raise AssertionError("not raised")


def _assert_cut(text: str) -> None:
    assert len(text) <= ERROR_TEXT_MAX_CHARS and text.endswith(CUT_MARK), len(text)
    assert SECRET[:4] not in text


def _assert_recorded_cut(finished, *, escaped: bool) -> None:
    from opentelemetry.trace import StatusCode

    assert finished.status.status_code is StatusCode.ERROR
    _assert_cut(finished.status.description)
    assert finished.status.description.startswith(
        "HugeError: [REDACTED]HHH" if escaped else "[REDACTED]HHH")
    (event,) = finished.events
    message = event.attributes["exception.message"]
    _assert_cut(message)
    assert message.startswith("[REDACTED]HHH")
    stack = event.attributes["exception.stacktrace"]
    # Each part of the trace is cut alike: every frame and both messages are still there.
    assert len(stack) < 5 * ERROR_TEXT_MAX_CHARS + 2_000, len(stack)
    assert SECRET[:4] not in stack
    for part in ("Traceback (most recent call last):", "in _raise_huge", "OSError: cause naming "
                 "[REDACTED] ccc", "direct cause", f"{__name__}.HugeError: [REDACTED]HHH",
                 f"HHH{CUT_MARK}\nnote nnn"):
        assert part in stack, part


def test_an_attempt_span_records_a_huge_error_masked_and_cut(exporter):
    current = telemetry.start_span("baton.attempt", step_id="s")
    telemetry.end_span(current, _caught(), secret_values=[SECRET])
    (finished,) = exporter.get_finished_spans()
    _assert_recorded_cut(finished, escaped=False)


def test_an_error_escaping_a_span_is_recorded_masked_and_cut(exporter):
    with pytest.raises(HugeError), telemetry.span("baton.run", secret_values=[SECRET]):
        raise _caught()
    (finished,) = exporter.get_finished_spans()
    _assert_recorded_cut(finished, escaped=True)


def test_a_short_error_is_recorded_whole(exporter):
    current = telemetry.start_span("baton.attempt", step_id="s")
    telemetry.end_span(current, ValueError("x" * ERROR_TEXT_MAX_CHARS), secret_values=[SECRET])
    (finished,) = exporter.get_finished_spans()
    assert finished.status.description == "x" * ERROR_TEXT_MAX_CHARS
    assert finished.events[0].attributes["exception.message"] == "x" * ERROR_TEXT_MAX_CHARS


def test_a_tool_failing_with_a_huge_error_has_it_cut_on_its_attempt_span(engine, tmp_path,
                                                                        exporter):
    registry = ToolRegistry()

    @registry.tool("x.huge")
    def huge() -> int:
        """Fails with a message megabytes long."""
        _raise_huge()
        return 0

    record = run_plan(make_runner(engine, registry, tmp_path, secrets={"TOKEN": SECRET}),
                      engine, {"goal": "g", "steps": [{"id": "s", "tool": "x.huge"}]})
    assert record.status is RunStatus.FAILED
    (attempt,) = [s for s in exporter.get_finished_spans() if s.name == "baton.attempt"]
    _assert_cut(attempt.status.description)
    (event,) = attempt.events
    _assert_cut(event.attributes["exception.message"])
    assert len(event.attributes["exception.stacktrace"]) < 5 * ERROR_TEXT_MAX_CHARS + 2_000
    # The span's text is the step's, less the type the step's names its error by.
    (step,) = record.steps
    assert step.error == f"HugeError: {attempt.status.description}"[:ERROR_TEXT_MAX_CHARS - 1] \
        + CUT_MARK
