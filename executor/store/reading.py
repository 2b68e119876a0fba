"""Opening the database for a command that only reads: it never creates one.

An auditor whose ``data_dir`` has a typo must be told there is nothing there, not that a
new, empty ledger is intact.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from .db import MissingDatabaseError, StoreError, database_failure, is_database_error, \
    make_engine, sqlite_file
from .migrate import upgrade


def open_for_reading(url: str, origin: str) -> Engine:
    """An engine for an existing database, schema brought up to date.

    ``origin`` says which setting gave ``url`` ("data_dir in /srv/baton.toml"), for errors:
    a SQLite file that does not exist is a ``MissingDatabaseError`` naming the path and
    ``origin``, and neither the file nor its directory is created. An older schema is still
    upgraded (every command does that), so a reader sees what a writer would.
    """
    try:
        engine = make_engine(url, create=False)
    except MissingDatabaseError as exc:
        raise MissingDatabaseError(exc.path, (
            f"no Baton database at {exc.path} (from {origin}); nothing was created: fix the "
            "setting, or record something first (baton plan, baton serve)")) from exc
    try:
        upgrade(engine)
    except StoreError as exc:
        if not is_database_error(exc.__cause__):
            raise
        # Not "cannot upgrade the database schema": a reader asked to read, say what and where.
        file = sqlite_file(engine)
        where = f" {file.path}" if file is not None else ""
        raise StoreError(f"cannot read the database{where} (from {origin}): "
                         f"{database_failure(exc.__cause__)}") from exc
    return engine
