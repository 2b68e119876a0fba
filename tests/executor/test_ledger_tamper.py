"""The ledger catches tampering (and names the right event) on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from executor.errors import BrokenEventError
from executor.ledger import Ledger, event_hash
from executor.ledger_export import export_cloudevents, export_jsonl
from executor.store.schema import LedgerRow
from planner.plan import canonical_json
from tests.support.cli_in_process import in_process_baton

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ledger(engine) -> Ledger:
    """A ledger holding six events about two subjects."""
    led = Ledger(engine)
    for i in range(6):
        led.append("attempt_success", f"run{i % 2}", "executor", {"step": f"s{i}", "n": i})
    return led


def _row(session: Session, seq: int) -> LedgerRow:
    return session.exec(select(LedgerRow).where(LedgerRow.seq == seq)).one()


def _rehash_from(engine, seq: int) -> None:
    """Recompute every hash from ``seq`` on, as a forger who knows the algorithm would."""
    with Session(engine) as session:
        rows = session.exec(select(LedgerRow).where(LedgerRow.seq >= seq - 1)
                            .order_by(col(LedgerRow.seq))).all()
        prev = rows[0].hash if seq > 1 else "0" * 64
        for row in rows[1:] if seq > 1 else rows:
            row.prev_hash = prev
            row.hash = event_hash(prev, row.seq, row.at, row.kind, row.subject, row.actor,
                                  json.loads(row.payload))
            session.add(row)
            prev = row.hash
        session.commit()


def test_an_untouched_ledger_verifies_with_its_event_count(ledger):
    result = ledger.verify()
    assert (result.ok, result.events, result.first_broken_seq) == (True, 6, None)


def test_an_edited_payload_is_caught_at_its_event(ledger, engine):
    with Session(engine) as session:
        row = _row(session, 3)
        row.payload = json.dumps({"step": "s2", "n": 999})
        session.add(row)
        session.commit()
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "altered" in (result.reason or "")


def test_a_deleted_row_is_caught_at_the_gap(ledger, engine):
    with Session(engine) as session:
        session.exec(delete(LedgerRow).where(LedgerRow.seq == 3))  # type: ignore[call-overload]
        session.commit()
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert "missing" in (result.reason or "")


def test_a_swapped_pair_is_caught_at_the_first_of_the_pair(ledger, engine):
    fields = ("at", "kind", "subject", "actor", "payload", "prev_hash", "hash")
    with Session(engine) as session:
        a, b = _row(session, 3), _row(session, 4)
        va, vb = ({f: getattr(r, f) for f in fields} for r in (a, b))
        for f in fields:
            setattr(a, f, vb[f])
            setattr(b, f, va[f])
        session.add_all([a, b])
        session.commit()
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq) == (False, 3)


def test_a_forged_hash_breaks_the_link_to_the_next_event(ledger, engine):
    with Session(engine) as session:
        row = _row(session, 3)
        row.payload = canonical_json({"step": "s2", "n": 999})  # as the writer stores it
        row.hash = event_hash(row.prev_hash, row.seq, row.at, row.kind, row.subject, row.actor,
                              {"step": "s2", "n": 999})
        session.add(row)
        session.commit()
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert "prev_hash" in (result.reason or "")


def test_a_recomputed_suffix_is_caught_only_against_a_recorded_head(ledger, engine):
    anchor = ledger.head()
    assert anchor is not None and anchor[0] == 6
    with Session(engine) as session:
        row = _row(session, 3)
        row.payload = canonical_json({"step": "s2", "n": 999})  # as the writer stores it
        session.add(row)
        session.commit()
    _rehash_from(engine, 3)

    assert ledger.verify().ok  # the chain alone is self-consistent again
    result = ledger.verify(expect_head=anchor)
    assert (result.ok, result.first_broken_seq) == (False, 6)
    assert "recorded head" in (result.reason or "")


def test_a_truncated_tail_is_caught_against_a_recorded_head(ledger, engine):
    anchor = ledger.head()
    with Session(engine) as session:
        session.exec(delete(LedgerRow).where(col(LedgerRow.seq) >= 5))  # type: ignore[call-overload]
        session.commit()
    assert ledger.verify().ok
    result = ledger.verify(expect_head=anchor)
    assert (result.ok, result.first_broken_seq) == (False, 5)
    assert "removed" in (result.reason or "")


def test_an_earlier_head_still_verifies_after_more_appends(ledger):
    anchor = ledger.head()
    ledger.append("run_end", "run0", "executor", {"status": "succeeded"})
    assert ledger.verify(expect_head=anchor).ok


def test_concurrent_appends_from_threads_never_fork_the_chain(engine):
    def append_many(worker: int) -> None:
        led = Ledger(engine)
        for i in range(15):
            led.append("attempt_start", f"w{worker}", "executor", {"i": i})

    threads = [threading.Thread(target=append_many, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = Ledger(engine).verify()
    assert (result.ok, result.events) == (True, 90)


APPENDER = """
import sys
from executor.ledger import Ledger
from executor.store.db import make_engine
engine = make_engine(sys.argv[1])
ledger = Ledger(engine)
for i in range(int(sys.argv[3])):
    ledger.append("attempt_start", sys.argv[2], "executor", {"i": i})
"""


def test_concurrent_appends_from_processes_never_fork_the_chain(engine, db_url):
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, db_url, f"p{n}", "20"], cwd=ROOT)
             for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    result = Ledger(engine).verify()
    assert (result.ok, result.events) == (True, 80)
    subjects = [e.subject for e in Ledger(engine).events()]
    assert all(subjects.count(f"p{n}") == 20 for n in range(4))


def test_secret_values_never_reach_the_stored_rows_or_the_exports(engine, tmp_path):
    led = Ledger(engine, secret_values=["hunter2-token"])
    led.append("attempt_start", "run1", "executor",
               {"args": {"headers": {"Authorization": "Bearer hunter2-token"}, "n": 1}})
    with engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(text("SELECT * FROM ledger")) for v in row)
    assert "hunter2-token" not in stored and "[REDACTED]" in stored
    for writer in (export_jsonl, export_cloudevents):
        path = tmp_path / f"{writer.__name__}.jsonl"
        with path.open("w") as out:
            writer(led, out)
        assert "hunter2-token" not in path.read_text()
    assert led.verify().ok


def _baton_process(args: list[str], db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATON_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "baton", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


Baton = Callable[[list[str]], subprocess.CompletedProcess[str]]


@pytest.fixture
def baton(db_url, tmp_path, monkeypatch, capsys) -> Iterator[Baton]:
    """``baton(args)``: what ``_baton_process`` gives in ``tmp_path``, from the CLI in-process."""
    monkeypatch.chdir(tmp_path)
    with in_process_baton(capsys) as run:
        yield lambda args: run(*args, env={"BATON_DATABASE_URL": db_url})


def test_cli_verify_passes_then_names_the_tampered_event(baton, ledger, engine, db_url, tmp_path):
    ok = baton(["audit", "verify", "--json"])
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert (report["ok"], report["events"]) == (True, 6)
    head = report["head"]

    with Session(engine) as session:
        row = _row(session, 2)
        row.actor = "mallory"
        session.add(row)
        session.commit()
    # A process of its own: the installed entry point's exit code and message.
    broken = _baton_process(["audit", "verify"], db_url, tmp_path)
    assert broken.returncode == 1
    assert "event 2" in broken.stderr

    _rehash_from(engine, 2)
    assert baton(["audit", "verify"]).returncode == 0
    anchored = baton(["audit", "verify", "--expect-head", head])
    assert anchored.returncode == 1 and "event 6" in anchored.stderr


def _set_stored(engine, seq: int, **values: str) -> None:
    """Overwrite raw column values of event ``seq`` (below the ORM, as a tamperer would)."""
    columns = ", ".join(f"{name} = :{name}" for name in values)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE ledger SET {columns} WHERE seq = :seq"), {**values, "seq": seq})


@pytest.mark.parametrize("stored", ["infinity", "-infinity", "10000-01-01 00:00:00+00",
                                    "4000-01-01 00:00:00+00 BC"])
def test_a_time_python_cannot_hold_is_a_broken_event_on_postgresql(ledger, engine, stored):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps any text: test_a_malformed_time_… covers it")
    _set_stored(engine, 2, at=stored)
    result = ledger.verify()
    assert (result.ok, result.events, result.first_broken_seq) == (False, 2, 2)
    assert "event 2" in result.reason and "not a valid timestamp" in result.reason
    with pytest.raises(BrokenEventError, match="not a valid timestamp"):
        ledger.events()
    assert [event.seq for event in ledger.events(subject="run0")] == [1, 3, 5]  # the others read
    with pytest.raises(BrokenEventError):
        ledger.latest(limit=6)


def test_a_malformed_time_is_reported_as_a_broken_event(ledger, engine):
    if engine.dialect.name == "postgresql":
        pytest.skip("a PostgreSQL timestamp column holds only valid times")
    _set_stored(engine, 3, at="yesterday-ish")
    result = ledger.verify()
    assert (result.ok, result.events, result.first_broken_seq) == (False, 3, 3)
    assert "event 3" in result.reason and "not a valid timestamp" in result.reason
    with pytest.raises(BrokenEventError, match="ledger event 3 is broken"):
        export_jsonl(ledger, io.StringIO())


@pytest.mark.parametrize("payload", ["[1, 2]", '"a string"', "7", "{not json"])
def test_a_payload_that_is_not_a_json_object_is_a_broken_event_everywhere(ledger, engine, payload):
    _set_stored(engine, 3, payload=payload)
    if payload != "{not json":
        _rehash_from(engine, 3)  # a forger who keeps the chain consistent
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert result.reason.startswith("event 3: payload is not ")
    assert [e.seq for e in ledger.iter_events(subject="run1")][:1] == [2]  # readable until then
    for read in (lambda: ledger.events(), lambda: export_jsonl(ledger, io.StringIO()),
                 lambda: export_cloudevents(ledger, io.StringIO())):
        with pytest.raises(BrokenEventError, match="ledger event 3 is broken: payload is not "):
            read()


def test_verify_reports_the_head_it_verified_not_one_appended_since(ledger, engine):
    verified_head = ledger.head()
    result = ledger.verify()
    ledger.append("run_end", "run0", "executor", {"status": "succeeded"})  # after verification
    assert result.ok and result.head == verified_head
    assert ledger.head()[0] == verified_head[0] + 1

    _set_stored(engine, 4, actor="mallory")
    broken = ledger.verify()
    assert (broken.ok, broken.first_broken_seq, broken.head) == (False, 4, (3, _hash_of(engine, 3)))


def _hash_of(engine, seq: int) -> str:
    with Session(engine) as session:
        return _row(session, seq).hash


def test_cli_reports_malformed_rows_as_broken_events_without_a_traceback(baton, ledger, engine):
    _set_stored(engine, 2, payload='["not", "an", "object"]')
    _rehash_from(engine, 2)
    verify = baton(["audit", "verify"])
    assert verify.returncode == 1 and "ledger broken at event 2" in verify.stderr
    for args in (["audit", "show"], ["audit", "show", "--json"], ["audit", "export"],
                 ["audit", "export", "--format", "cloudevents"]):
        done = baton(args)
        assert done.returncode == 1, args
        assert "ledger event 2 is broken: payload is not a JSON object" in done.stderr, args
        assert "Traceback" not in done.stderr, args
    # A time no datetime holds: named on both databases, not reported as a database failure.
    _set_stored(engine, 1, at="not a time" if engine.dialect.name == "sqlite" else "infinity")
    verify = baton(["audit", "verify", "--json"])
    assert verify.returncode == 1 and "Traceback" not in verify.stderr
    report = json.loads(verify.stdout)
    assert report["first_broken_seq"] == 1 and "not a valid timestamp" in report["reason"]
    exported = baton(["audit", "export"])
    assert exported.returncode == 1 and "ledger event 1 is broken" in exported.stderr
