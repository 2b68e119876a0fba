"""The latest N events are read with one bounded query, not by streaming the whole ledger.

``baton audit show --limit 3`` on a ledger of 200,000 events read all of them to keep three.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from executor.ledger import Ledger
from tests.support.cli_in_process import in_process_baton

EVENTS = 40


@pytest.fixture
def ledger(engine) -> Ledger:
    """``EVENTS`` events, alternating between two subjects and two kinds."""
    led = Ledger(engine)
    for i in range(EVENTS):
        led.append("run_start" if i % 2 else "goal", f"s{i % 2}", "executor", {"i": i})
    return led


@pytest.fixture
def rows_read(monkeypatch) -> list[int]:
    """The seq of every ledger row turned into an event, by any ledger, in order."""
    read: list[int] = []
    real = Ledger._to_event

    def counting(self, row):
        read.append(row.seq)
        return real(self, row)

    monkeypatch.setattr(Ledger, "_to_event", counting)
    return read


@pytest.fixture
def statements(engine) -> Iterator[list[str]]:
    """The SQL the engine sends, in order."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


def test_latest_gives_the_last_n_in_chain_order_reading_only_those(ledger, rows_read,
                                                                    statements):
    latest = ledger.latest(limit=3)
    assert [e.seq for e in latest] == [EVENTS - 2, EVENTS - 1, EVENTS]
    assert rows_read == [EVENTS - 2, EVENTS - 1, EVENTS]
    reads = [s for s in statements if "FROM ledger" in s]
    assert len(reads) == 1 and "DESC" in reads[0] and "LIMIT" in reads[0]


def test_latest_applies_the_filters_before_the_limit(ledger, rows_read):
    latest = ledger.latest(subject="s1", kinds=["run_start"], limit=2)
    assert [(e.seq, e.subject, e.kind) for e in latest] == [
        (EVENTS - 2, "s1", "run_start"), (EVENTS, "s1", "run_start")]
    assert len(rows_read) == 2
    assert [e.seq for e in ledger.latest(subject="s0", limit=1)] == [EVENTS - 1]
    assert ledger.latest(subject="nobody", limit=5) == []


def test_latest_with_a_limit_past_the_start_gives_every_match(ledger):
    assert [e.seq for e in ledger.latest(kinds=["goal"], limit=1000)] == list(range(1, EVENTS, 2))


def test_audit_show_reads_only_the_events_it_shows(ledger, db_url, rows_read, data_dir, capsys):
    with in_process_baton(capsys) as baton:
        done = baton("audit", "show", "--limit", "3", "--json",
                     env={"BATON_DATABASE_URL": db_url})
    assert done.returncode == 0, done.stderr
    assert [e["seq"] for e in json.loads(done.stdout)] == [EVENTS - 2, EVENTS - 1, EVENTS]
    assert len(rows_read) == 3


def test_audit_show_refuses_a_limit_past_what_a_database_counts(db_url, data_dir, capsys):
    with in_process_baton(capsys) as baton:
        done = baton("audit", "show", "--limit", str(2**63), env={"BATON_DATABASE_URL": db_url})
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "--limit" in done.stderr and "Traceback" not in done.stderr
