"""A run's event stream over a broken ledger event: refused or ended with a last error event.

The stream read the ledger only once its 200 had started: a broken event answered 200,
sent nothing, cut the connection and logged two tracebacks; a client reconnecting with
Last-Event-ID met the same, again and again. A break already there is now a 409
``ledger_broken`` (as ``GET /ledger/events``), reconnects included; one found later ends
the stream with an ``event: error`` naming it, logged once as a warning.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session
from structlog.testing import capture_logs

from executor.ledger import EventKind
from executor.store.runs import RunStore
from tests.executor.runsupport import approved_plan
from tests.support.run_lifecycle import ONE_STEP

RUN_ID = "r-broken00001"


@pytest.fixture
def run_start(store_services) -> int:
    """A run that started and never ends (the test server runs no worker): its first seq."""
    RunStore(store_services.engine, store_services.ledger).create(
        run_id=RUN_ID, plan_id=approved_plan(store_services.engine, ONE_STEP), version=1,
        plan_hash=ONE_STEP.plan_hash(), steps=[("a", "echo")], requested_by="alice",
        concurrency=1)
    return store_services.ledger.latest(subject=RUN_ID, limit=1)[0].seq


def append_broken(services) -> int:
    """An event of the run, broken in the transaction that appends it: no reader sees it whole."""
    with Session(services.engine) as session:
        event = services.ledger.append(EventKind.ATTEMPT_START, RUN_ID, "executor",
                                       {"step_id": "a"}, session=session)
        session.execute(text("UPDATE ledger SET payload = '[1]' WHERE seq = :seq"),
                        {"seq": event.seq})
        session.commit()
    return event.seq


def assert_refused(response: httpx.Response, seq: int) -> None:
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "ledger_broken" and f"event {seq}" in error["message"]


def test_a_broken_event_already_there_is_409_reconnects_included(
        store_services, store_client_for, run_start):
    seq = append_broken(store_services)
    client = store_client_for("alice")
    assert_refused(client.get(f"/runs/{RUN_ID}/events"), seq)
    # An EventSource reconnects after the last event it got: refused alike, so it stops.
    assert_refused(client.get(f"/runs/{RUN_ID}/events",
                              headers={"Last-Event-ID": str(run_start)}), seq)


def test_a_broken_event_found_later_ends_the_stream_with_an_error_event(
        store_services, store_client_for, run_start, caplog):
    lines: list[str] = []
    with capture_logs() as logs, caplog.at_level(logging.ERROR):
        with store_client_for("alice").stream("GET", f"/runs/{RUN_ID}/events") as stream:
            assert stream.status_code == 200
            for line in stream.iter_lines():  # read whole: a cut connection raises here
                lines.append(line)
                if line == "event: run_start":
                    seq = append_broken(store_services)
    assert lines[-3:-1] == ["event: error", lines[-2]] and lines[-1] == ""
    error = json.loads(lines[-2].removeprefix("data: "))
    assert error["code"] == "ledger_broken" and f"event {seq}" in error["message"]
    assert not any(line.startswith("id: ") and int(line[4:]) >= seq for line in lines)
    [logged] = [entry for entry in logs if entry.get("code") == "ledger_broken"]
    assert logged["log_level"] == "warning" and "exc_info" not in logged
    assert logged["run_id"] == RUN_ID and logged["seq"] == seq
    assert not [entry for entry in logs if entry["log_level"] in ("error", "critical")]
    assert not caplog.records, "a traceback was logged"
