"""An event's time is read back only in the exact form it was recorded in, and shown in UTC.

SQLite keeps ``at`` as text (naive UTC, microseconds: "2026-12-06 23:55:33.645477"). Other
text for the same instant (an offset, a "T", fewer digits) re-hashes the same, as the hash
takes the instant: it is an alteration all the same, and ``audit show`` would print the
offset's wall time. PostgreSQL's column is a typed timestamptz, so there is no other text;
there the driver gives times in the session's time zone, and events carry them in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from executor.errors import BrokenEventError
from executor.ledger import Ledger
from executor.store.db import make_engine
from tests.support.cli_in_process import in_process_baton

TOKYO = timezone(timedelta(hours=9))


@pytest.fixture
def ledger(engine) -> Ledger:
    """A ledger of five events."""
    led = Ledger(engine)
    for i in range(5):
        led.append("attempt_success", f"run{i % 2}", "executor", {"step": f"s{i}"})
    return led


def _stored_at(engine, seq: int) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT at FROM ledger WHERE seq = :seq"), {"seq": seq}).scalar()


def _set_at(engine, seq: int, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET at = :at WHERE seq = :seq"), {"at": value, "seq": seq})


def _same_instant_forms(stored: str) -> list[str]:
    """Other text SQLAlchemy's SQLite DateTime reads as the instant ``stored`` names."""
    tokyo = datetime.fromisoformat(stored).replace(tzinfo=UTC).astimezone(TOKYO)
    return [tokyo.isoformat(sep=" ", timespec="microseconds"),  # "…08:55:33.645477+09:00"
            stored + "+00:00", stored + "Z", stored.replace(" ", "T")]


@pytest.mark.parametrize("form", range(4), ids=["offset", "+00:00", "Z", "T"])
def test_a_time_rewritten_in_another_form_for_the_same_instant_is_a_broken_event(
        ledger, engine, form):
    if engine.dialect.name != "sqlite":
        pytest.skip("a PostgreSQL timestamptz column keeps no text of its own")
    stored = _stored_at(engine, 3)
    assert ledger.verify().ok
    altered = _same_instant_forms(stored)[form]
    _set_at(engine, 3, altered)
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq, result.events) == (False, 3, 3)
    assert result.reason.startswith("event 3: its time ") and repr(altered) in result.reason
    assert "recorded form" in result.reason
    with pytest.raises(BrokenEventError, match="ledger event 3 is broken: its time "):
        ledger.events()
    with pytest.raises(BrokenEventError):
        ledger.latest(limit=3)
    _set_at(engine, 3, stored)  # put back exactly: intact again
    assert ledger.verify().ok


@pytest.mark.parametrize(("recorded", "shorter"), [
    ("2026-12-06 23:55:33.600000", "2026-12-06 23:55:33.6"),
    ("2026-12-06 23:55:33.000000", "2026-12-06 23:55:33"),
])
def test_fewer_digits_for_the_same_instant_is_a_broken_event(engine, recorded, shorter):
    if engine.dialect.name != "sqlite":
        pytest.skip("a PostgreSQL timestamptz column keeps no text of its own")
    from tests.executor.test_ledger_tamper import _rehash_from

    ledger = Ledger(engine)
    ledger.append("goal", "p-1", "alice", {})
    _set_at(engine, 1, recorded)
    _rehash_from(engine, 1)  # as if recorded at that time
    assert ledger.verify().ok
    _set_at(engine, 1, shorter)
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq) == (False, 1)
    assert "recorded form" in result.reason


def test_events_written_by_the_run_loop_hot_path_verify(engine):
    from executor.store.hot import HotWriter

    ledger = Ledger(engine)
    ledger.append("goal", "p-1", "alice", {"goal": "g"})
    with engine.connect() as conn:
        writer = HotWriter(conn.connection.dbapi_connection, engine.dialect.name, ledger)
        writer.event("attempt_start", "r-1", "executor", {"step": "a"})
        writer.event("attempt_success", "r-1", "executor", {"step": "a"})
        writer.flush()
    ledger.append("run_end", "r-1", "executor", {"status": "succeeded"})
    result = ledger.verify()
    assert (result.ok, result.events) == (True, 4), result.reason
    assert [e.seq for e in ledger.events()] == [1, 2, 3, 4]


@pytest.fixture
def tokyo_url(db_url) -> Iterator[str]:
    """``db_url`` with PostgreSQL sessions in Asia/Tokyo (UTC+9, no daylight saving)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no session time zone")
    yield db_url + "%20-ctimezone%3DAsia%2FTokyo"


def _utc_text(engine, seq: int) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT to_char(at AT TIME ZONE 'UTC', "
                                 "'YYYY-MM-DD HH24:MI:SS') FROM ledger WHERE seq = :seq"),
                            {"seq": seq}).scalar()


def test_events_read_in_a_session_of_another_time_zone_carry_utc(ledger, engine, tokyo_url):
    tokyo = make_engine(tokyo_url)
    try:
        events = Ledger(tokyo).events()
        assert Ledger(tokyo).verify().ok
    finally:
        tokyo.dispose()
    assert [e.at.utcoffset() for e in events] == [timedelta(0)] * 5
    assert events == ledger.events()
    assert events[0].at.strftime("%Y-%m-%d %H:%M:%S") == _utc_text(engine, 1)


def test_audit_show_prints_times_in_utc(ledger, engine, tokyo_url, tmp_path, monkeypatch, capsys):
    from baton.cli.common import console

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(console, "width", 200)  # no column folded
    with in_process_baton(capsys) as run:
        shown = run("audit", "show", "--limit", "1", env={"BATON_DATABASE_URL": tokyo_url})
    assert shown.returncode == 0, shown.stderr
    assert _utc_text(engine, 5) in shown.stdout, shown.stdout
