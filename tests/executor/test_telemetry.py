"""Spans when OpenTelemetry is configured, nothing at all when it is not; bound loggers."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from baton.logging import configure_logging
from executor import telemetry
from executor.telemetry import NOOP_SPAN, bind_log, span

ROOT = Path(__file__).resolve().parents[2]


def test_run_and_attempt_spans_are_exported_nested_with_their_ids(exporter):
    with span("baton.run", run_id="r1", plan_id="p1"):
        with span("baton.attempt", run_id="r1", step_id="load", attempt=2, note=None):
            pass
    attempt, run = exporter.get_finished_spans()
    assert (run.name, attempt.name) == ("baton.run", "baton.attempt")
    assert attempt.parent is not None and attempt.parent.span_id == run.context.span_id
    assert dict(attempt.attributes) == {"baton.run_id": "r1", "baton.step_id": "load", "baton.attempt": 2}


def test_an_error_inside_a_span_is_recorded_and_re_raised(exporter):
    from opentelemetry.trace import StatusCode

    with pytest.raises(TimeoutError), span("baton.attempt", step_id="slow"):
        raise TimeoutError("tool timed out")
    (finished,) = exporter.get_finished_spans()
    assert finished.status.status_code is StatusCode.ERROR
    assert [e.name for e in finished.events] == ["exception"]


def test_without_a_configured_provider_no_tracer_is_asked_for(monkeypatch):
    from opentelemetry import trace

    def refuse(*_args, **_kwargs):
        raise AssertionError("tracing work happened without configuration")

    monkeypatch.setattr(trace.ProxyTracerProvider, "get_tracer", refuse)
    monkeypatch.setattr(telemetry, "_cached", (None, None))
    with span("baton.run", run_id="r1") as current:
        assert current is NOOP_SPAN
        current.set_attribute("k", "v")
    assert not current.is_recording()


SCRIPT = """
import sys
from executor.telemetry import span, NOOP_SPAN
with span("baton.run", run_id="r1") as s:
    assert s is NOOP_SPAN
assert not any(m.startswith("opentelemetry") for m in sys.modules), "opentelemetry was imported"
if sys.argv[1] == "global":
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    with span("baton.run", run_id="r1"):
        pass
    print([s.name for s in memory.get_finished_spans()])
"""


def test_untraced_code_never_imports_opentelemetry():
    done = subprocess.run([sys.executable, "-c", SCRIPT, "off"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_globally_configured_provider_is_picked_up():
    done = subprocess.run([sys.executable, "-c", SCRIPT, "global"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['baton.run']"


def test_bind_log_writes_json_with_the_ids_and_masks_secrets(restore_logging):
    out = io.StringIO()
    configure_logging("info", json=True, secret_values=["s3cret-value"], stream=out)
    log = bind_log(run_id="r1", step_id="post", attempt=2, missing=None)
    log.info("attempt_failed", error="401 for token s3cret-value")
    log.debug("not shown at info")
    (line,) = out.getvalue().splitlines()
    entry = json.loads(line)
    assert {k: entry[k] for k in ("event", "run_id", "step_id", "attempt", "level")} == {
        "event": "attempt_failed", "run_id": "r1", "step_id": "post", "attempt": 2, "level": "info"}
    assert "missing" not in entry
    assert entry["error"] == "401 for token [REDACTED]"


def test_a_secret_inside_a_logged_traceback_is_masked(restore_logging):
    out = io.StringIO()
    configure_logging("debug", json=True, secret_values=["tok-42"], stream=out)
    try:
        raise ValueError("bad credentials tok-42")
    except ValueError:
        bind_log(run_id="r1").exception("tool_crashed")
    entry = json.loads(out.getvalue())
    assert "tok-42" not in out.getvalue() and "[REDACTED]" in entry["exception"]


def test_an_unknown_level_name_is_refused(restore_logging):
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging("loud", json=True)


def test_an_error_escaping_a_span_is_recorded_once_with_secrets_masked(exporter):
    from opentelemetry.trace import StatusCode

    secret = "tok-escaping-0099"
    with pytest.raises(RuntimeError), span("baton.run", run_id="r1", secret_values=[secret]):
        try:
            raise OSError(f"cause with {secret}")
        except OSError as exc:
            raise RuntimeError(f"broke on {secret}") from exc
    (finished,) = exporter.get_finished_spans()
    assert "baton.secret_values" not in finished.attributes
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.status.description == "RuntimeError: broke on [REDACTED]"
    (event,) = finished.events  # the SDK's own, raw recording is off
    assert event.attributes["exception.message"] == "broke on [REDACTED]"
    assert event.attributes["exception.escaped"] == "True"
    assert "OSError: cause with [REDACTED]" in event.attributes["exception.stacktrace"]
    assert secret not in str(dict(event.attributes))


class Unrenderable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for tok-unrendered-5")


def test_an_attempt_span_ends_with_an_error_that_cannot_be_rendered(exporter):
    from opentelemetry.trace import StatusCode

    current = telemetry.start_span("baton.attempt", step_id="s")
    telemetry.end_span(current, Unrenderable(), secret_values=["tok-unrendered-5"])
    (finished,) = exporter.get_finished_spans()
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.status.description == (
        "Unrenderable (its message could not be rendered: RuntimeError: no text for [REDACTED])")


def test_an_attempt_span_is_ended_even_when_recording_its_error_fails(exporter, monkeypatch):
    def broken(*_args, **_kwargs):
        raise MemoryError("recording failed")

    monkeypatch.setattr(telemetry, "redact", broken)
    current = telemetry.start_span("baton.attempt", step_id="s")
    with pytest.raises(MemoryError):
        telemetry.end_span(current, ValueError("boom"), secret_values=["x"])
    assert [s.name for s in exporter.get_finished_spans()] == ["baton.attempt"]
