"""Reading the ledger (iterate, verify, export) never keeps another connection from appending.

A reader paused in the middle of a long ledger (a slow consumer, a generator not advanced)
must hold no lock a writer waits on: the second connection here waits for no lock at all
(SQLite busy timeout 0), so an append that succeeds proves the lock was free. The ledger is
read in batches keyed on seq, up to the head seen when the read began; the batches are made
small here so that every test crosses their boundaries.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from executor import ledger as ledger_module
from executor.errors import BrokenEventError
from executor.ledger import Ledger
from executor.ledger_export import export_cloudevents, export_jsonl
from executor.store.db import make_engine

BATCH = 4
EVENTS = 11  # two whole batches and part of a third


@pytest.fixture
def ledger(engine) -> Ledger:
    """A ledger of ``EVENTS`` events about two subjects."""
    led = Ledger(engine)
    for i in range(EVENTS):
        led.append("attempt_success", f"run{i % 2}", "executor", {"step": f"s{i}", "n": i})
    return led


@pytest.fixture
def small_batches(monkeypatch) -> None:
    monkeypatch.setattr(ledger_module, "READ_BATCH_ROWS", BATCH)


@pytest.fixture
def impatient(db_url) -> Iterator[Ledger]:
    """A second ledger on the same database whose appends never wait for a lock.

    On SQLite it fails at once with "database is locked" when another connection holds the
    write lock (as every writer would, after its 30 s busy timeout).
    """
    engine = _impatient_engine(db_url)
    yield Ledger(engine)
    engine.dispose()


def _impatient_engine(db_url: str) -> Engine:
    if not db_url.startswith("sqlite"):
        return make_engine(db_url)
    engine = create_engine(db_url, connect_args={"timeout": 0, "isolation_level": None})

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # as Baton's writers do: the write lock from the start
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _append_other(impatient: Ledger, n: int = 0) -> None:
    impatient.append("goal", "other", "alice", {"appended_while_reading": n})


@pytest.mark.usefixtures("small_batches")
def test_a_paused_iteration_lets_another_connection_append(ledger, impatient):
    events = ledger.iter_events()
    first = [next(events).seq for _ in range(BATCH + 1)]  # paused inside the second batch
    _append_other(impatient)
    rest = [e.seq for e in events]
    assert first + rest == list(range(1, EVENTS + 1))  # the head when the read began
    assert ledger.head()[0] == EVENTS + 1


@pytest.mark.usefixtures("small_batches")
def test_a_paused_filtered_iteration_lets_another_connection_append(ledger, impatient):
    events = ledger.iter_events(subject="run1")
    assert next(events).seq == 2
    _append_other(impatient)
    assert [e.seq for e in events] == [4, 6, 8, 10]


def test_a_paused_iteration_with_the_default_batch_lets_another_connection_append(
        ledger, impatient):
    events = ledger.iter_events()
    assert next(events).seq == 1
    _append_other(impatient)
    assert [e.seq for e in events] == list(range(2, EVENTS + 1))


@pytest.mark.usefixtures("small_batches")
def test_another_connection_appends_while_verify_is_mid_chain(ledger, impatient, monkeypatch):
    check = Ledger._check_row
    appended: list[int] = []

    def check_and_append(self, row, prev, expected_seq):
        if row.seq in (3, BATCH + 2):  # inside the first batch, then the second
            _append_other(impatient, row.seq)
            appended.append(row.seq)
        return check(self, row, prev, expected_seq)

    monkeypatch.setattr(Ledger, "_check_row", check_and_append)
    result = ledger.verify()
    assert appended == [3, BATCH + 2]
    assert (result.ok, result.events, result.head) == (True, EVENTS, _head_at(ledger, EVENTS))


class _SlowReader(io.StringIO):
    """An export's output whose reader appends through another connection at some lines."""

    def __init__(self, impatient: Ledger, at_lines: set[int]) -> None:
        super().__init__()
        self.impatient, self.at_lines, self.lines = impatient, at_lines, 0

    def write(self, text: str) -> int:
        self.lines += 1
        if self.lines in self.at_lines:
            _append_other(self.impatient, self.lines)
        return super().write(text)


@pytest.mark.parametrize("export", [export_jsonl, export_cloudevents])
def test_a_slowly_read_export_lets_another_connection_append_and_is_unchanged(
        ledger, impatient, monkeypatch, export):
    in_one_batch = io.StringIO()
    export(ledger, in_one_batch)  # the default batch holds the whole ledger
    monkeypatch.setattr(ledger_module, "READ_BATCH_ROWS", BATCH)
    out = _SlowReader(impatient, {1, BATCH, BATCH + 1})
    assert export(ledger, out) == EVENTS
    assert out.getvalue() == in_one_batch.getvalue()
    assert ledger.head()[0] == EVENTS + 3


@pytest.mark.usefixtures("small_batches")
def test_batched_reads_give_what_one_query_gives(ledger):
    ledger.append("run_end", "run0", "executor", {"status": "succeeded"})
    whole = ledger.events()
    assert [e.seq for e in whole] == list(range(1, EVENTS + 2))
    assert ledger.events(after_seq=BATCH - 1, limit=BATCH + 2) == whole[BATCH - 1:2 * BATCH + 1]
    assert ledger.events(limit=BATCH) == whole[:BATCH]
    assert ledger.events(subject="run0", limit=5) == [e for e in whole if e.subject == "run0"][:5]
    assert ledger.events(kinds=["run_end"]) == whole[-1:]
    assert ledger.events(after_seq=EVENTS + 1) == []


def test_an_empty_ledger_reads_and_verifies(engine, small_batches):
    ledger = Ledger(engine)
    assert ledger.events() == []
    assert (ledger.verify().ok, ledger.verify().events) == (True, 0)


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("seq", [BATCH, BATCH + 1, 2 * BATCH, 2 * BATCH + 1])
def test_a_broken_event_at_a_batch_boundary_is_named(ledger, engine, seq):
    _set_stored(engine, seq, actor="mallory")
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq, result.events) == (False, seq, seq)
    assert result.head == _head_at(ledger, seq - 1)


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("seq", [BATCH, BATCH + 1, 2 * BATCH, 2 * BATCH + 1])
def test_an_event_deleted_at_a_batch_boundary_is_named(ledger, engine, seq):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger WHERE seq = :seq"), {"seq": seq})
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq) == (False, seq + 1)
    assert f"expected seq {seq}" in result.reason


@pytest.mark.usefixtures("small_batches")
def test_a_payload_broken_after_a_batch_boundary_stops_iteration_there(ledger, engine):
    _set_stored(engine, BATCH + 1, payload="[1]")
    seen: list[int] = []
    with pytest.raises(BrokenEventError, match=f"ledger event {BATCH + 1} is broken"):
        for e in ledger.iter_events():
            seen.append(e.seq)
    assert seen == list(range(1, BATCH + 1))


def _set_stored(engine, seq: int, **values: str) -> None:
    columns = ", ".join(f"{name} = :{name}" for name in values)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE ledger SET {columns} WHERE seq = :seq"), {**values, "seq": seq})


def _head_at(ledger: Ledger, seq: int) -> tuple[int, str]:
    return next((e.seq, e.hash) for e in ledger.events(after_seq=seq - 1, limit=1))


def test_the_export_lines_are_the_events_in_order(ledger, small_batches):
    out = io.StringIO()
    export_jsonl(ledger, out)
    assert [json.loads(line)["seq"] for line in out.getvalue().splitlines()] == \
        list(range(1, EVENTS + 1))
