"""The per-step write path: raw DB-API statements, batched into one commit per loop turn.

A run's loop records, per turn, the results of the attempts that finished
and the "attempt started" entries of the steps that became ready; this
writer buffers them and :meth:`HotWriter.flush` executes them in one
transaction with their ledger events, in the order they were recorded. The
runner calls a tool only after the flush that journalled its start, so
journal-then-act holds.

A fenced flush reads the run's cancel flag with its owner, under the write
lock: once a cancel request has committed, the items queued as part of a
step's start (``start_of``) are left out of the transaction, the rest (the
results) committed, and the flush names the steps it did not start. No step
starts after a committed cancel, however long since the loop last polled.

A flush made within a loop's turn (a preparation failure's, one while a runtime check
waits) holds back the items that start the calls that turn has not made yet (``hold``):
they stay queued, in their place, for the turn's own flush, since a start committed reads
as a call that may have been made. Every item keeps the position it was queued at, so a
flush that must not change the ledger's order (``in_order``: it comes at a moment that
depends on timing) commits only what was queued before the first item held back.

SQLAlchemy costs more per statement than SQLite takes to run it, so these go
straight to the pinned ``sqlite3`` or ``psycopg`` connection; the ledger rows
are built by ``Ledger.link`` so the chain is hashed exactly as every other
append hashes it.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Collection
from datetime import datetime
from typing import Any

from tools import BatonError

from ..errors import LeaseLostError
from ..ledger import Ledger
from .db import SqliteFile, StoreError, database_failure

STATEMENTS = {
    "step_started": "UPDATE run_steps SET status = 'running', attempts = ?, attempt_log = ? "
                    "WHERE id = ?",
    "step_first_started": "UPDATE run_steps SET status = 'running', attempts = ?, attempt_log = ?, "
                          "started_at = ? WHERE id = ?",
    "step_succeeded": "UPDATE run_steps SET status = 'succeeded', output_json = ?, output_uri = ?, "
                      "output_sha256 = ?, error = NULL, attempt_log = ?, ended_at = ? WHERE id = ?",
    "step_log": "UPDATE run_steps SET attempt_log = ? WHERE id = ?",
    "step_failed": "UPDATE run_steps SET status = 'failed', error = ?, attempt_log = ?, ended_at = ? "
                   "WHERE id = ?",
    "step_denied": "UPDATE run_steps SET status = 'failed', error = ?, ended_at = ? WHERE id = ?",
    "head": "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
    # The fence reads the cancel flag in the same statement: no extra round trip per step.
    "owner": "SELECT owner, cancel_requested FROM runs WHERE id = ?",
    # PostgreSQL: the fence locks the run's row until the commit, so a claim of the run
    # (which locks that row first too) either commits before this check or waits for it;
    # so does a cancel request (an UPDATE of that row).
    "owner_locked": "SELECT owner, cancel_requested FROM runs WHERE id = ? FOR UPDATE",
    "lock_run": "SELECT 1 FROM runs WHERE id = ? FOR UPDATE",
    "event": "INSERT INTO ledger (seq, at, kind, subject, actor, payload, prev_hash, hash) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
}
PG_STATEMENTS = {k: v.replace("?", "%s") for k, v in STATEMENTS.items()}


def sqlite_datetime(value: datetime) -> str:
    """``value`` as SQLAlchemy's SQLite ``DateTime`` stores it (naive UTC, microseconds)."""
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class HotWriter:
    """Buffers one loop turn's transitions and commits them together (see the module doc)."""

    def __init__(self, dbapi_connection: Any, dialect: str, ledger: Ledger, *,
                 fence: tuple[str, str] | None = None, file: SqliteFile | None = None) -> None:
        self._conn = dbapi_connection
        # SQLite: the file the engine opened; a commit into a file deleted or replaced
        # since would report success and be lost, so every commit first checks the path.
        self._file = file
        # (run id, owner): every flush first checks, inside its transaction, that the
        # run is still this owner's; one that lost it must not write over the new owner.
        self._fence = fence
        self._pg = dialect == "postgresql"
        self._sql = PG_STATEMENTS if self._pg else STATEMENTS
        self._ledger = ledger
        # (position, statement key, parameters, step a cancel leaves out or None, step it
        # starts or None) in recording order; events alike. The position orders the two
        # lists as one (see ``in_order``).
        self._statements: list[tuple[int, str, tuple[Any, ...], str | None, str | None]] = []
        self._events: list[tuple[int, str, str, str, dict[str, Any], str | None,
                                 str | None]] = []
        self._queued = itertools.count()
        # Set once a fenced flush saw the run's cancel flag raised (it stays raised).
        self.cancel_seen = False
        self._dropped: list[str] = []

    def __enter__(self) -> HotWriter:
        # Used as its own context by the run store: a pinned writer is flushed by the loop.
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    @property
    def pending(self) -> bool:
        """Whether anything is waiting for :meth:`flush`."""
        return bool(self._statements or self._events)

    def when(self, value: datetime) -> Any:
        """A timestamp parameter in the driver's terms."""
        return value if self._pg else sqlite_datetime(value)

    def execute(self, key: str, params: tuple[Any, ...], *, start_of: str | None = None,
                starts: str | None = None) -> None:
        """Queue one statement; ``start_of``: part of starting that step, left out by a cancel
        (see the module doc); ``starts``: part of starting that step's call, a retry's too
        (:meth:`leave_out`). ``start_of`` implies ``starts``."""
        self._statements.append((next(self._queued), key, params, start_of, starts or start_of))

    def event(self, kind: str, subject: str, actor: str, payload: dict[str, Any], *,
              start_of: str | None = None, starts: str | None = None) -> None:
        """Queue one ledger event; ``start_of`` and ``starts`` as for :meth:`execute`."""
        self._events.append((next(self._queued), kind, subject, actor, payload, start_of,
                             starts or start_of))

    def leave_out(self, steps: Collection[str]) -> None:
        """Drop what was queued to start the calls of ``steps``: the run stops before calling
        them, and a start committed would read as a call that may have been made."""
        if steps:
            self._statements = [item for item in self._statements if item[-1] not in steps]
            self._events = [item for item in self._events if item[-1] not in steps]

    def flush(self, *, hold: Collection[str] = (), in_order: bool = False) -> tuple[str, ...]:
        """Run everything queued in one transaction and commit; on error roll back and raise.

        Returns the steps whose start it left out, the run's cancel having committed first
        (see the module doc; :attr:`cancel_seen` is then set): usually none.

        ``hold``: steps whose calls are not made yet: what starts them stays queued for a
        later flush, not committed nor left out by a cancel; with ``in_order``, so does
        everything queued after the first of it (see the module doc).

        A database that fails (gone, full, corrupt) is a ``StoreError`` naming the run:
        what earlier flushes committed stays, and the run can be resumed once it is back.
        """
        if hold:
            return self._flush_holding(hold, in_order)
        if not self.pending:
            return ()
        self._dropped.clear()
        try:
            self._commit_pending()
        except BatonError:
            raise
        except Exception as exc:
            raise StoreError(f"the database failed while recording {self._what()}: "
                             f"{database_failure(exc)}") from exc
        finally:
            self._statements.clear()
            self._events.clear()
        return tuple(self._dropped)

    def _flush_holding(self, hold: Collection[str], in_order: bool) -> tuple[str, ...]:
        """:meth:`flush` of what ``hold`` does not keep back; what it keeps is queued again
        after it, in its place, whether the flush committed or failed."""
        statements, events = self._statements, self._events
        queued = (*statements, *events)
        if in_order:  # everything from the first item held on
            first = min((item[0] for item in queued if item[-1] in hold), default=None)
            kept = {item[0] for item in queued if first is not None and item[0] >= first}
        else:
            kept = {item[0] for item in queued if item[-1] in hold}
        self._statements = [item for item in statements if item[0] not in kept]
        self._events = [item for item in events if item[0] not in kept]
        try:
            return self.flush()
        finally:
            self._statements = [item for item in statements if item[0] in kept]
            self._events = [item for item in events if item[0] in kept]

    def _commit_pending(self) -> None:
        cursor = self._conn.cursor()
        try:
            if self._pg:
                # Lock order, everywhere: the run's row, then the ledger's lock. A claim
                # takes them in this order too, so neither can wait for the other in a cycle.
                self._check_fence(cursor)
                cursor.execute("SELECT pg_advisory_xact_lock(727274)")  # the ledger's one writer
            else:
                # One writer at a time for the whole file: a claim cannot interleave.
                cursor.execute("BEGIN IMMEDIATE")
                if self._file is not None:
                    self._file.ensure(f"recording {self._what()}")
                self._check_fence(cursor)
            self._run_statements(cursor)
            self._append_events(cursor)
            self._conn.commit() if self._pg else cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):  # a dead connection cannot roll back: it is gone
                self._conn.rollback()
            raise
        finally:
            with contextlib.suppress(Exception):  # likewise: nothing left to close
                cursor.close()

    def _what(self) -> str:
        return f"run {self._fence[0]}" if self._fence else "a run"

    def _check_fence(self, cursor: Any) -> None:
        if self._fence is None:
            if self._pg:  # unfenced: still lock the runs written for, in one order
                for run_id in sorted({event[2] for event in self._events}):
                    cursor.execute(self._sql["lock_run"], (run_id,))
            return
        run_id, owner = self._fence
        cursor.execute(self._sql["owner_locked" if self._pg else "owner"], (run_id,))
        row = cursor.fetchone()
        if row is None or row[0] != owner:
            raise LeaseLostError(f"run {run_id} was taken over by {row[0] if row else 'nobody'}; "
                                 "this process stops without recording its last results")
        if row[1]:
            self.cancel_seen = True
            self._leave_out_starts()

    def _leave_out_starts(self) -> None:
        """The cancel committed before this flush: drop what starts a step, keep the results."""
        dropped = dict.fromkeys(item[-2] for item in (*self._statements, *self._events)
                                if item[-2] is not None)
        if dropped:
            self._statements = [item for item in self._statements if item[-2] is None]
            self._events = [item for item in self._events if item[-2] is None]
            self._dropped[:] = dropped

    def _run_statements(self, cursor: Any) -> None:
        sql = self._sql
        for _, key, params, *_ in self._statements:
            cursor.execute(sql[key], params)

    def _append_events(self, cursor: Any) -> None:
        if not self._events:
            return
        cursor.execute(self._sql["head"])  # seq is the primary key: one index probe
        last = cursor.fetchone()
        rows = []
        for _, kind, subject, actor, payload, *_ in self._events:
            row, _ = self._ledger.link(last, kind, subject, actor, payload)
            last = (row["seq"], row["hash"])
            rows.append((row["seq"], self.when(row["at"]), row["kind"], row["subject"],
                         row["actor"], row["payload"], row["prev_hash"], row["hash"]))
        cursor.executemany(self._sql["event"], rows)
