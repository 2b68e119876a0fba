"""The peer comparison measures like with like (the peers themselves are not installed here)."""

from __future__ import annotations

import sqlite3

import bench.bench_executor as bench_executor
import bench.peers.peer_bench as peer_bench
from bench.bench_executor import Figure
from executor.store.db import make_engine


def _pragmas(dbapi_connection) -> tuple[str, int]:
    journal = dbapi_connection.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = dbapi_connection.execute("PRAGMA synchronous").fetchone()[0]
    return str(journal).lower(), int(synchronous)


def test_matched_sqlite_settings_are_the_ones_batons_store_uses(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'baton.db'}")
    with engine.connect() as conn:
        baton = _pragmas(conn.connection.driver_connection)
    engine.dispose()
    peer = sqlite3.connect(tmp_path / "peer.sqlite")
    assert _pragmas(peer) != baton  # SQLite's defaults: a rollback journal, synchronous=FULL
    peer_bench._match_sqlite(peer)
    assert _pragmas(peer) == baton
    peer.close()
    assert peer_bench._journal_mode(tmp_path / "peer.sqlite") == "wal"


def test_each_peer_is_measured_as_shipped_and_matched_unless_it_ships_matched(monkeypatch):
    asked: list[tuple[str, str]] = []

    def fake_peer(python, name, steps, repeat, timeout_s, sqlite):
        asked.append((name, sqlite))
        journal = "wal" if sqlite == "matched" or name == "prefect" else "delete"
        return {"peer": name, "version": "9.9", "sqlite": sqlite, "journal_mode": journal,
                "per_step_ms": 2.0 if sqlite == "shipped" else 1.0}

    monkeypatch.setattr(peer_bench, "_run_peer", fake_peer)
    monkeypatch.setattr(bench_executor, "measure", lambda sizes: [Figure(
        steps=sizes[0], floor_ms=0.01, baton_ms=0.5, baton_async_ms=0.25, journal_ms=0.03)])
    table = peer_bench.compare("python", 5, ("dbos", "prefect"), repeat=1, timeout_s=1)
    assert asked == [("dbos", "shipped"), ("dbos", "matched"), ("prefect", "matched")]
    lines = table.splitlines()
    shipped = next(line for line in lines if line.startswith("dbos 9.9, shipped (delete)"))
    matched = next(line for line in lines if line.startswith("dbos 9.9, matched (wal)"))
    assert shipped.split()[-2:] == ["4.0x", "8.0x"]  # 2.0 ms against Baton's 0.5 and 0.25
    assert matched.split()[-2:] == ["2.0x", "4.0x"]
    assert any(line.startswith("prefect 9.9, matched (wal)") for line in lines)
