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
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from .db import MissingDatabaseError, SqliteFile, StoreError, database_failure, \
    is_database_error, make_engine, sqlite_file
from .migrate import alembic_config, upgrade
from .schema import LedgerRow

# A database made by the first releases' ``create_all`` has no alembic_version, but has
# this table (``upgrade`` stamps such a database with the baseline revision).
_LEGACY_MARKER_TABLE = LedgerRow.__tablename__


class NotABatonDatabaseError(StoreError):
    """A command that only reads was pointed at a database that holds no Baton schema."""

    code = "not_a_baton_database"


def open_for_reading(url: str, origin: str) -> Engine:
    """An engine for an existing Baton database, schema brought up to date.

    ``origin`` says which setting gave ``url`` ("data_dir in /srv/baton.toml"), for errors:
    a SQLite file that does not exist is a ``MissingDatabaseError`` naming the path and
    ``origin``, and neither the file nor its directory is created; a database without
    Baton's tables is a ``NotABatonDatabaseError``, and nothing is written into it. An older
    Baton schema is still upgraded (every command does that), so a reader sees what a
    writer would.
    """
    try:
        engine = make_engine(url, create=False)
    except MissingDatabaseError as exc:
        raise MissingDatabaseError(exc.path, (
            f"no Baton database at {exc.path} (from {origin}); nothing was created: fix the "
            "setting, or record something first (baton plan, baton serve)")) from exc
    file = sqlite_file(engine)
    try:
        with _read_failures(file, origin):
            problem = _schema_problem(engine, file)
            if problem is None:
                upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    if problem is not None:
        engine.dispose()
        where = file.path if file is not None else make_url(url).render_as_string()
        raise NotABatonDatabaseError(
            f"no Baton database at {where} (from {origin}): {problem}; nothing was written: "
            "fix the setting, or record something first (baton plan, baton serve)")
    return engine


@contextmanager
def _read_failures(file: SqliteFile | None, origin: str) -> Iterator[None]:
    """A database failure inside the block as "cannot read the database …" (a reader asked to
    read: say what and where, not "cannot upgrade the database schema")."""
    try:
        yield
    except Exception as exc:
        cause = exc.__cause__ if isinstance(exc, StoreError) else exc
        if cause is None or not is_database_error(cause):
            raise
        where = f" {file.path}" if file is not None else ""
        raise StoreError(f"cannot read the database{where} (from {origin}): "
                         f"{database_failure(cause)}") from exc


def _schema_problem(engine: Engine, file: SqliteFile | None) -> str | None:
    """Why the database holds no Baton schema ``upgrade`` can bring up to date; None: it does."""
    # A SQLite file is looked at through a read-only connection of its own: the engine's
    # connections switch the file to WAL mode, which writes to it.
    probe = _read_only(file) if file is not None else engine
    try:
        with probe.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            heads = _versions(connection) if "alembic_version" in tables else ()
    finally:
        if probe is not engine:
            probe.dispose()
    if heads:
        unknown = sorted(set(heads) - _known_revisions())
        if unknown:
            return (f"its schema is at revision {', '.join(map(repr, unknown))}, which this "
                    "Baton does not know (another application's, or a newer Baton's)")
        return None
    if _LEGACY_MARKER_TABLE in tables:
        return None
    return "it has no Baton tables" + (" (it has other tables)" if tables else " (it is empty)")


def _read_only(file: SqliteFile) -> Engine:
    connect = partial(sqlite3.connect, f"file:{quote(file.path)}?mode=ro", uri=True)
    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


def _versions(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


def _known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {revision.revision for revision in script.walk_revisions()}
