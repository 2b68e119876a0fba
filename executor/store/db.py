"""Connecting to the database: SQLite (default) or PostgreSQL, same code."""

from __future__ import annotations

import os
import sqlite3
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

from tools import BatonError


class StoreError(BatonError):
    """The database cannot be reached, opened or upgraded."""

    code = "store_error"


SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the database layer (SQLAlchemy or a driver), not from Baton's code."""
    # By module, so that callers (the CLI's error path) need not import SQLAlchemy to ask.
    return type(exc).__module__.split(".")[0] in ("sqlalchemy", "sqlite3", "psycopg", "psycopg2")


# SQLSTATEs of failures that say nothing about the data: the same transaction, tried again,
# can succeed (serialization_failure, deadlock_detected, lock_not_available).
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})

# SQLSTATEs of a server that went away or is not taking connections: the connection failed
# (class 08), the server was shut down or restarted under it (admin_shutdown, crash_shutdown),
# is starting up, shutting down or recovering (cannot_connect_now), or has no slot free for now
# (too_many_connections, as every worker reconnects after a failover).
CONNECTION_SQLSTATES = frozenset({"08000", "08001", "08003", "08004", "08006",
                                  "57P01", "57P02", "57P03", "53300"})

# What libpq and the PostgreSQL drivers say, with no SQLSTATE, when a connection is refused,
# cut or times out, or the server turns it away for a while. Not a missing database or role,
# a failed login or an unknown host name: those do not pass by themselves.
CONNECTION_FAILURES = (
    "connection refused", "connection reset", "connection timed out", "timeout expired",
    "no route to host", "network is unreachable", "server closed the connection",
    "terminating connection", "could not receive data from server",
    "could not send data to server", "ssl connection has been closed unexpectedly",
    "consuming input failed", "sending query failed", "the connection is lost",
    "the connection is closed", "connection already closed",
    "the database system is starting up", "the database system is shutting down",
    "the database system is in recovery mode", "the database system is not yet accepting",
    "the database system is not accepting connections", "too many clients already",
    "remaining connection slots are reserved",
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it was raised from: a ``StoreError``'s cause, SQLAlchemy's driver error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (a ``StoreError`` or a driver error) is worth retrying as it was.

    PostgreSQL aborts one side of a deadlock or a serialization conflict; SQLite reports
    "database is locked" when its busy timeout ran out. The chain of causes is searched,
    so a ``StoreError`` raised ``from`` the driver's error counts.
    """
    return any(_sqlstate(current) in TRANSIENT_SQLSTATES
               or (isinstance(current, sqlite3.OperationalError) and "locked" in str(current))
               for current in _causes(exc))


def is_connection_loss(exc: BaseException) -> bool:
    """Whether ``exc`` says PostgreSQL could not be reached or dropped the connection.

    A restart or a failover: nothing is wrong with what was asked, and asked again once the
    server is back it can succeed. A server's error is judged by its SQLSTATE alone (its text
    may quote anything); a driver's error without one (libpq's, before or outside any
    statement) by its words; SQLAlchemy's own disconnect detection counts too. SQLite never:
    it is a file on this machine, with no server to come back; a file that cannot be opened
    (its directory gone, no permission) or was deleted does not come back by itself either.
    """
    invalidated = False  # SQLAlchemy saw the driver's connection closed or broken
    for current in _causes(exc):
        invalidated = invalidated or bool(getattr(current, "connection_invalidated", False))
        if type(current).__module__.split(".")[0] not in ("psycopg", "psycopg2"):
            continue
        if invalidated:
            return True
        state = _sqlstate(current)
        if state is not None:
            return state in CONNECTION_SQLSTATES
        text = str(current).lower()
        return any(words in text for words in CONNECTION_FAILURES)
    return False


# SQLSTATEs of a statement naming a column or table the database does not have
# (undefined_column, undefined_table), and what SQLite says instead.
SCHEMA_SQLSTATES = frozenset({"42703", "42P01"})
SQLITE_SCHEMA_FAILURES = ("no such column", "no such table", "has no column named")


def is_schema_mismatch(exc: BaseException) -> bool:
    """Whether ``exc`` says the database lacks a column or table this Baton reads or writes.

    Its schema is not the one its revision stands for (changed by hand, or by a revision
    edited after it ran): asked again, the statement fails again, whether or not the
    server was up all along.
    """
    for current in _causes(exc):
        if isinstance(current, sqlite3.OperationalError):
            return any(words in str(current) for words in SQLITE_SCHEMA_FAILURES)
        if type(current).__module__.split(".")[0] in ("psycopg", "psycopg2"):
            return _sqlstate(current) in SCHEMA_SQLSTATES
    return False


def database_failure(exc: BaseException) -> str:
    """A one-line description of a database error, for people.

    Only the first line: SQLAlchemy appends the statement and its parameters
    on later lines, and parameters carry step outputs, which stay out of logs.
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def database_errors(doing: str) -> Iterator[None]:
    """Translate a database failure inside the block into a ``StoreError`` naming what failed.

    The message reads "the database failed while ``doing``: <first line of the
    driver's error>"; anything that is not a database error passes unchanged.
    """
    try:
        yield
    except DatabaseFileGoneError as exc:
        if exc.doing is not None:  # named already, by a block inside this one
            raise
        raise DatabaseFileGoneError(exc.problem, doing) from exc
    except Exception as exc:
        if not is_database_error(exc):
            raise
        raise StoreError(f"the database failed while {doing}: {database_failure(exc)}") from exc


# Whatever the server, database, role or connection sets as its default: every "take a lock,
# then read what the last holder wrote" (the ledger's head, the upgrade's alembic_version, a
# run's owner) needs each statement to see the rows committed before it. Under REPEATABLE READ
# or SERIALIZABLE the snapshot is taken by the locking SELECT itself, before the lock is
# granted, so the read after it is stale and two writers pick the same seq. SQLAlchemy sets it
# on each new DB-API connection, so the run loop's raw psycopg writes (store.hot) inherit it.
POSTGRES_ISOLATION = "READ COMMITTED"


def make_engine(url: str, *, echo: bool = False, create: bool = True) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and immediate write transactions.

    ``create=False`` is for commands that only read: a SQLite file that does not exist is a
    ``MissingDatabaseError`` and neither it nor its directory is created (an auditor with a
    typo in ``data_dir`` must not verify a new, empty ledger). PostgreSQL is unaffected by
    it, and runs every transaction at ``POSTGRES_ISOLATION``.
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo, create=create)
    return create_engine(url, echo=echo, pool_pre_ping=True, isolation_level=POSTGRES_ISOLATION)


# Execution option of a connection whose transactions only read (see read_transaction).
_READS_ONLY = "baton_reads_only"


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that only reads, over when the block ends.

    On SQLite it begins with a plain (deferred) BEGIN instead of BEGIN IMMEDIATE: it takes
    no write lock, so a reader however slow keeps no writer waiting (nor waits for one).
    Nothing may be written in it: a deferred transaction that writes after another
    connection committed fails with "database is locked" at once, busy timeout or not.
    On PostgreSQL (where readers never block writers) it runs at REPEATABLE READ: at
    ``POSTGRES_ISOLATION`` each statement would see what committed before it, so a reader's
    second statement could see a write its first did not (a run's row, then its steps); one
    snapshot for the whole transaction is what SQLite's WAL gives a reader too. A transaction
    that only reads never fails to serialize at that level.
    """
    with engine.connect() as connection:
        connection.execution_options(**{_READS_ONLY: True})
        if connection.dialect.name == "postgresql":  # reset when the connection is returned
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A ``Session`` on the connection of :func:`read_transaction`, for store methods that
    only read: on SQLite it takes no write lock, so it waits for no writer and keeps none
    waiting. Nothing may be written or committed in it; the transaction ends with the block.
    """
    with read_transaction(engine) as connection, Session(bind=connection) as session:
        yield session


class MissingDatabaseError(StoreError):
    """A command that only reads was pointed at a SQLite file that does not exist."""

    code = "database_missing"

    def __init__(self, path: str, message: str | None = None) -> None:
        self.path = path
        super().__init__(message or f"there is no database file at {path}")


class DatabaseFileGoneError(StoreError):
    """The SQLite file an engine opened is no longer at its path: deleted, moved or replaced."""

    def __init__(self, problem: str, doing: str | None = None) -> None:
        self.problem = problem
        self.doing = doing
        super().__init__(f"the database failed while {doing}: {problem}" if doing
                         else f"the database failed: {problem}")


class SqliteFile:
    """The database file an engine opened, to tell when the path no longer leads to it.

    A SQLite file deleted, moved or replaced under a process stays open: its connections go
    on writing into a file nobody will find again, and report success. Its identity
    (device, inode) is taken when the first connection opens it; :meth:`ensure` compares,
    and so does every transaction the engine begins (see ``_sqlite_engine``).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None

    def remember(self) -> None:
        """Record the identity of the file at ``path`` (once: the first connection's file)."""
        if self.identity is None:
            with _suppress_os_error():
                st = os.stat(self.path)
                self.identity = (st.st_dev, st.st_ino)

    def change(self) -> str | None:
        """What became of the file, without its path ("was deleted while in use"; None: it is
        still the file opened); one ``os.stat``."""
        if self.identity is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "was deleted while in use"
        except OSError as exc:
            return f"cannot be checked: {exc.strerror or exc}"
        if (st.st_dev, st.st_ino) != self.identity:
            return "was replaced while in use"
        return None

    def problem(self) -> str | None:
        """Why the path is no longer the file opened (None: it still is); one ``os.stat``."""
        change = self.change()
        return None if change is None else f"the database file {self.path} {change}"

    def ensure(self, doing: str | None = None) -> None:
        """Raise a ``DatabaseFileGoneError`` ("the database failed while ``doing``: …") when
        it is gone."""
        problem = self.problem()
        if problem is not None:
            raise DatabaseFileGoneError(problem, doing)


_FILES: weakref.WeakKeyDictionary[Engine, SqliteFile] = weakref.WeakKeyDictionary()


def sqlite_file(engine: Engine) -> SqliteFile | None:
    """The file a SQLite engine on a file opened (None: PostgreSQL, or SQLite in memory)."""
    return _FILES.get(engine)


@contextmanager
def _suppress_os_error() -> Iterator[None]:
    try:
        yield
    except OSError:  # no identity: the checks stay off rather than fail every commit
        pass


def _sqlite_engine(url: str, *, echo: bool, create: bool) -> Engine:
    file = _sqlite_file_of(url)
    connect_args: dict[str, Any] = {"check_same_thread": False, "isolation_level": None,
                                    "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    if file is not None and not create:
        if not os.path.exists(file.path):
            raise MissingDatabaseError(file.path)
        engine = create_engine(url, echo=echo, **_existing_only(file.path, url, connect_args))
    elif file is not None and "?" not in url:
        _make_directory(Path(file.path).parent)
        engine = create_engine(url, echo=echo, creator=_created_once(file, connect_args))
    else:
        if file is not None:
            _make_directory(Path(file.path).parent)
        engine = create_engine(url, echo=echo, connect_args=connect_args)
    if file is not None:
        _FILES[engine] = file

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if file is not None:  # the file exists now: WAL mode was read from it
            file.remember()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock when the transaction starts, not at its first write:
        # a deferred transaction that upgrades later can fail with "database is
        # locked" without waiting for the busy timeout. A transaction that only reads
        # (read_transaction) never upgrades: it takes no write lock, so it waits for no
        # writer and no writer waits for it (WAL gives it a snapshot of its own).
        reads_only = conn.get_execution_options().get(_READS_ONLY, False)
        conn.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")

    if file is not None:
        # Every transaction of the engine, the API's, the web forms' and the CLI's writes and
        # reads alike: none may be written into a file nobody will find again and reported
        # done, nor read from it as the state of the database now at the path. The dialect's
        # do_begin runs after the event's BEGIN (so a file replaced while the write lock was
        # awaited is seen) and, unlike the event, where SQLAlchemy handles a failure: it rolls
        # the BEGIN back and the connection is left as before, its next begin checked again.
        # The executor's per-step commits (store.hot) bypass SQLAlchemy and check for themselves.
        def _do_begin(_dbapi_connection: Any) -> None:
            file.ensure()

        engine.dialect.do_begin = _do_begin  # type: ignore[method-assign]  # a no-op by default

    return engine


def _sqlite_file_of(url: str) -> SqliteFile | None:
    """The file a SQLite URL names (None: in memory); the path read as SQLAlchemy reads it,
    percent-escapes decoded, so that the file checked is the file opened."""
    parsed = make_url(url)
    on_disk = (parsed.database or "").removeprefix("file:")  # a URI filename (uri=true) too
    if not on_disk or on_disk == ":memory:" or parsed.query.get("mode") == "memory":
        return None
    return SqliteFile(os.path.abspath(on_disk))


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the database's directory {directory}: "
                         f"{exc.strerror or exc} (see data_dir or database_url)") from exc


def _existing_only(path: str, url: str, connect_args: dict[str, Any]) -> dict[str, Any]:
    """``create_engine`` arguments that open ``path`` only if it exists (SQLite's ``mode=rw``).

    The check before making the engine is not enough: a file deleted later would be created
    again, empty, by the next connection. A URL with its own query parameters keeps them
    (and that check alone): they may be SQLite URI options this function would override.
    """
    if "?" in url:
        return {"connect_args": connect_args}
    uri = f"file:{quote(path)}?mode=rw"

    def connect() -> sqlite3.Connection:
        try:
            return sqlite3.connect(uri, uri=True, **connect_args)
        except sqlite3.OperationalError:
            if not os.path.exists(path):
                raise MissingDatabaseError(path) from None
            raise

    return {"creator": connect}


def _created_once(file: SqliteFile, connect_args: dict[str, Any]) -> Any:
    """A ``creator`` that may create the database file only until it has been opened.

    A file deleted while in use (its directory left) would otherwise be created again, empty,
    by the next pooled connection: refused as "replaced", but the empty file stayed at the
    path, where the next start of Baton would take it for a new database. Once the file was
    opened, a connection opens it only if it exists (SQLite's ``mode=rw``) and says it is gone.
    """
    uri = f"file:{quote(file.path)}?mode=rw"

    def connect() -> sqlite3.Connection:
        if file.identity is None:
            return sqlite3.connect(file.path, **connect_args)
        try:
            return sqlite3.connect(uri, uri=True, **connect_args)
        except sqlite3.OperationalError:
            file.ensure()  # gone: say so, naming the file
            raise

    return connect


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL mode (persistent), tolerating processes that race to do it.

    Changing the journal mode needs an exclusive lock and SQLite answers "database
    is locked" at once, without the busy handler, when another connection holds
    one: that happens when several processes open a brand-new database together.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
