"""The run's event stream ends at the run's end: not at the end of an earlier try of a run
that failed and was resumed."""

from __future__ import annotations

import json
import threading

from executor.ledger import EventKind
from tests.support.run_lifecycle import failed_run, resumed_run, transition


def test_the_stream_of_a_failed_then_resumed_run_goes_on_to_its_real_end(services, client_for):
    run_id = "r-resumed0001"
    resumed_run(services, run_id)
    kinds: list[str] = []
    resumed, closed = threading.Event(), threading.Event()

    def listen() -> None:
        with client_for("alice").stream("GET", f"/runs/{run_id}/events", timeout=30) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    kinds.append(json.loads(line.removeprefix("data: "))["kind"])
                    if kinds[-1] == "run_resume":
                        resumed.set()
        closed.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert resumed.wait(20)
    transition(services, run_id, "succeeded", EventKind.RUN_END,
                {"status": "succeeded", "error": None})
    assert closed.wait(20), "the stream did not end at the run's end"
    assert kinds == ["run_start", "run_end", "run_resume", "run_end"]


def test_the_stream_of_a_run_that_failed_and_was_not_resumed_ends(services, client_for):
    run_id = "r-failed00001"
    failed_run(services, run_id)
    with client_for("alice").stream("GET", f"/runs/{run_id}/events", timeout=30) as stream:
        kinds = [json.loads(line.removeprefix("data: "))["kind"]
                 for line in stream.iter_lines() if line.startswith("data: ")]
    assert kinds == ["run_start", "run_end"]


def test_a_last_event_id_that_is_not_an_ascii_number_streams_from_the_start(services, client_for):
    """'²' passes str.isdigit but not int(): it broke the stream after its 200."""
    run_id = "r-failed00002"
    failed_run(services, run_id)
    for last_id in ("\u00b2".encode("latin-1"), b"12a", b"9" * 40):
        with client_for("alice").stream("GET", f"/runs/{run_id}/events", timeout=30,
                                        headers={"Last-Event-ID": last_id}) as stream:
            assert stream.status_code == 200
            kinds = [json.loads(line.removeprefix("data: "))["kind"]
                     for line in stream.iter_lines() if line.startswith("data: ")]
        assert kinds == ["run_start", "run_end"]
