"""The SQL a durable Baton step commits, alone: no Python engine, no hashing, no tool.

Per step, in one ``BEGIN IMMEDIATE`` … ``COMMIT`` on Baton's own schema
(migrated by ``executor.store.migrate``): the ``run_steps`` UPDATE recording
the previous step's result, the UPDATE journalling this step's "attempt
started" (both carrying the attempt log), the ledger head read, and the two
ledger events (attempt success, attempt start) with payloads, timestamps and
hashes of the sizes Baton writes. This is what the executor cannot go below
without dropping a guarantee; the benchmark prints it next to the one-INSERT
floor and Baton's own figure.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

from executor.store.db import SQLITE_BUSY_TIMEOUT_MS, make_engine
from executor.store.hot import STATEMENTS
from executor.store.migrate import upgrade

_AT = "2026-11-29 12:00:00.123456"
_LOG = json.dumps([{"attempt": 1, "status": "succeeded", "started_at": "2026-11-29T12:00:00+00:00",
                    "ended_at": "2026-11-29T12:00:00.000100+00:00"}], separators=(",", ":"))


def journal_per_step_ms(steps: int, workdir: Path) -> float:
    """Baton's per-step statements on a fresh database, in milliseconds per step."""
    path = workdir / f"journal-{steps}-{time.perf_counter_ns()}.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    for pragma in ("journal_mode=WAL", f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
                   "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    run_id = "r-0123456789ab"
    conn.execute("INSERT INTO runs (id, plan_id, version, plan_hash, status, requested_by, "
                 "concurrency, cancel_requested, created_at) "
                 "VALUES (?, 'p-01234567', 1, ?, 'running', 'bench', 4, 0, ?)", (run_id, "0" * 64, _AT))
    conn.executemany(
        "INSERT INTO run_steps (run_id, step_id, tool, position, status, attempts, idempotency_key) "
        "VALUES (?, ?, 'noop', ?, 'pending', 0, ?)",
        [(run_id, f"s{i}", i, hashlib.sha256(f"{run_id}:s{i}".encode()).hexdigest())
         for i in range(steps + 1)])
    # Every parameter made before the clock starts: only the statements are timed.
    per_step = []
    for i in range(1, steps + 1):
        events = [(2 * i - 1 + k, _AT, kind, run_id, "executor", json.dumps(payload), "a" * 64, "b" * 64)
                  for k, (kind, payload) in enumerate((
                      ("attempt_success", {"attempt": 1, "output": {"n": i}, "step": f"s{i}"}),
                      ("attempt_start", {"args": {"n": i + 1}, "attempt": 1, "delay_s": 0.0,
                                         "step": f"s{i + 1}", "tool": "noop"})))]
        per_step.append(((json.dumps({"n": i}), None, None, _LOG, _AT, i), (1, _LOG, i + 1), events))
    cursor = conn.cursor()
    started = time.perf_counter()
    for succeeded, started_next, events in per_step:
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(STATEMENTS["step_succeeded"], succeeded)
        cursor.execute(STATEMENTS["step_started"], started_next)
        cursor.execute(STATEMENTS["head"]).fetchone()
        cursor.executemany(STATEMENTS["event"], events)
        cursor.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed * 1000 / steps
