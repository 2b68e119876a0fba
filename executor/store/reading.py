"""Opening the database for a command that only reads: it never creates one.

An auditor whose ``data_dir`` has a typo must be told there is nothing there, not that a
new, empty ledger is intact. The same goes for a database that exists but is not Baton's (an
empty file, another application's, an empty PostgreSQL schema): it is refused before
anything is written into it, Baton's tables or SQLite's WAL mode alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from urllib.parse import quote

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from .db import MissingDatabaseError, SqliteFile, StoreError, is_database_error, make_engine, \
    sqlite_file
from .migrate import NotABatonDatabaseError, cannot_use_database, database_location, \
    known_revisions, upgrade
from .schema import LedgerRow

# Every Baton database has this table: one made by the first releases' ``create_all`` has no
# alembic_version but has it (``upgrade`` stamps such a database with the baseline revision).
_LEGACY_MARKER_TABLE = LedgerRow.__tablename__


def open_for_reading(url: str, origin: str) -> Engine:
    """An engine for an existing Baton database, schema brought up to date.

    ``origin`` says which setting gave ``url`` ("data_dir in /srv/baton.toml"), for errors:
    a SQLite file that does not exist is a ``MissingDatabaseError`` naming the path and
    ``origin``, and neither the file nor its directory is created; a database without
    Baton's tables is a ``NotABatonDatabaseError``, and nothing is written into it. An older
    Baton schema is still upgraded (every command does that), so a reader sees what a
    writer would; a newer one is refused by ``upgrade``.
    """
    try:
        engine = make_engine(url, create=False)
    except MissingDatabaseError as exc:
        raise MissingDatabaseError(exc.path, (
            f"no Baton database at {exc.path} (from {origin}); nothing was created: fix the "
            "setting, or record something first (baton plan, baton serve)")) from exc
    try:
        with _read_failures(engine, origin):
            problem = _schema_problem(engine)
            if problem is None:
                upgrade(engine, origin)
        if problem is not None:
            # Only an empty database becomes Baton's by recording: one holding another
            # application's tables is refused by writers too.
            fix = ("fix the setting, or record something first (baton plan, baton serve)"
                   if problem == _EMPTY else "fix the setting")
            raise NotABatonDatabaseError(
                f"no Baton database at {database_location(engine)} (from {origin}): {problem}; "
                f"nothing was written: {fix}")
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def _read_failures(engine: Engine, origin: str) -> Iterator[None]:
    """A database failure inside the block as "cannot read the database …" (a reader asked to
    read: say what and where, not "cannot upgrade the database schema")."""
    try:
        yield
    except Exception as exc:
        cause = exc.__cause__ if isinstance(exc, StoreError) else exc
        if cause is None or not is_database_error(cause):
            raise
        raise StoreError(cannot_use_database("read", engine, origin, cause)) from exc


def _schema_problem(engine: Engine) -> str | None:
    """Why the database holds no Baton schema; None: it does (``upgrade`` takes it from there).

    Baton's has a ledger table (an older Baton's ``create_all`` made it without
    alembic_version). A database with a ledger table at an unknown revision is a newer
    Baton's: ``upgrade`` refuses it. An alembic_version at one of Baton's revision ids is not
    enough: another application's alembic may have used the same id ("0003").
    """
    file = sqlite_file(engine)
    # A SQLite file is looked at through a read-only connection of its own: the engine's
    # connections switch the file to WAL mode, which writes to it.
    probe = _read_only(file) if file is not None else engine
    try:
        with probe.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            heads = set(MigrationContext.configure(connection).get_current_heads()) \
                if "alembic_version" in tables else set()
    finally:
        if probe is not engine:
            probe.dispose()
    if _LEGACY_MARKER_TABLE in tables:
        return None
    if heads and heads <= known_revisions():
        return (f"it has no Baton tables, and its alembic_version ({', '.join(sorted(heads))}) "
                "is another application's revision")
    if heads:
        return (f"its schema is at revision {', '.join(sorted(heads))}, which this Baton does "
                "not know, and it has no Baton tables (another application's?)")
    return "it has no Baton tables (it has other tables)" if tables else _EMPTY


_EMPTY = "it has no Baton tables (it is empty)"


def _read_only(file: SqliteFile) -> Engine:
    connect = partial(sqlite3.connect, f"file:{quote(file.path)}?mode=ro", uri=True)
    return create_engine("sqlite://", creator=connect, poolclass=NullPool)

