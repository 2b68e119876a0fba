"""GET /ledger/export over a broken ledger: a 409 when it can still say so, else a last error line.

The events are read (and so checked) before the answer starts, up to
``EXPORT_PREFETCH_BYTES`` of lines; past that the export streams, and a failure
later ends the stream with one ``{"error": {...}}`` line instead of cutting the
connection.
"""

from __future__ import annotations

import json

from sqlalchemy import text

from baton.api import routes_ledger

GOAL = "Total the amount column of sales.csv and write it to total.json"


def break_event(services, seq: int) -> None:
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET payload = '[1]' WHERE seq = :seq"), {"seq": seq})


def test_an_export_of_a_ledger_broken_after_its_first_event_is_409_ledger_broken(
        store_client_for, store_services):
    assert store_client_for("alice").post("/plans", json={"goal": GOAL}).status_code == 201
    break_event(store_services, 3)
    response = store_client_for("dave").get("/ledger/export")
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "ledger_broken" and "event 3" in error["message"]


def test_a_break_found_after_the_answer_started_ends_the_export_with_an_error_line(
        store_client_for, store_services, monkeypatch):
    for n in range(1, 21):
        store_services.ledger.append("goal", f"p-{n}", "alice", {"goal": f"goal {n}"})
    break_event(store_services, 15)
    monkeypatch.setattr(routes_ledger, "EXPORT_PREFETCH_BYTES", 1000)  # a few events, not 20
    response = store_client_for("dave").get("/ledger/export")  # read whole: not cut off
    assert response.status_code == 200
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["seq"] for r in records[:-1]] == list(range(1, 15))
    assert set(records[-1]) == {"error"}
    assert records[-1]["error"]["code"] == "ledger_broken"
    assert "event 15" in records[-1]["error"]["message"]


def test_an_intact_ledger_longer_than_the_prefetch_is_exported_whole(client_for, services,
                                                                     monkeypatch):
    for n in range(1, 21):
        services.ledger.append("goal", f"p-{n}", "alice", {"goal": f"goal {n}"})
    monkeypatch.setattr(routes_ledger, "EXPORT_PREFETCH_BYTES", 1000)
    for format in ("jsonl", "cloudevents"):
        response = client_for("dave").get("/ledger/export", params={"format": format})
        records = [json.loads(line) for line in response.text.splitlines()]
        assert len(records) == 20 and not any("error" in r for r in records)


def test_a_database_failure_after_the_answer_started_gives_its_kind_not_its_location(
        client_for, services, monkeypatch):
    from baton.usecases import ledger as ledger_usecase
    from executor.store.db import StoreError

    for n in range(1, 21):
        services.ledger.append("goal", f"p-{n}", "alice", {"goal": f"goal {n}"})
    shown = ledger_usecase.iter_shown_events

    def failing(services, subject):
        for count, event in enumerate(shown(services, subject), start=1):
            if count == 15:
                raise StoreError("cannot open the database /srv/secret-place/baton.db: disk I/O")
            yield event

    monkeypatch.setattr(ledger_usecase, "iter_shown_events", failing)
    monkeypatch.setattr(routes_ledger, "EXPORT_PREFETCH_BYTES", 1000)
    response = client_for("dave").get("/ledger/export")
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["seq"] for r in records[:-1]] == list(range(1, 15))
    assert records[-1]["error"] == {"code": "store_error",
                                    "message": "the database failed; the server log says why"}
