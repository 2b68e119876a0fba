"""Bring a database's schema up to date with the alembic revisions in ``executor/migrations``.

``upgrade(engine)`` is the one entry point: it runs every pending revision on
one connection inside one transaction that also holds a lock, so two
processes upgrading the same database at once take turns (SQLite: the
``BEGIN IMMEDIATE`` that ``store.db`` issues; PostgreSQL: an advisory lock).
A database made by the old ``create_all`` (tables present, no
``alembic_version``) is stamped with the baseline revision, never recreated,
so an upgrade does not lose a record.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from . import schema  # noqa: F401  (registers the tables on the metadata)
from .db import StoreError, database_failure, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
BASELINE_REVISION = "0001"
# Arbitrary, distinct from the ledger's append lock (727274).
UPGRADE_LOCK_KEY = 727275
# A table every Baton database has had since the first release of the schema.
_LEGACY_MARKER_TABLE = "ledger"


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic ``Config`` built in code; ``connection`` is handed to ``env.py``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision id in ``executor/migrations/versions``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError("no migration revisions found in executor/migrations/versions")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Create or upgrade every table to the head revision, keeping every row."""
    try:
        with engine.begin() as connection:
            _lock(connection)
            config = alembic_config(connection)
            if _is_unversioned_legacy(connection):
                command.stamp(config, BASELINE_REVISION)
            command.upgrade(config, "head")
    except StoreError:
        raise
    except Exception as exc:  # translated at the edge: callers see one error type
        raise StoreError(f"cannot upgrade the database schema: {_explained(exc)}") from exc


def _explained(exc: Exception) -> str:
    """The driver's first line, and what to do when the database itself is missing."""
    detail = database_failure(exc)
    if "database" in detail and "does not exist" in detail:
        # Baton creates its tables, not the database: that needs rights Baton should not hold.
        detail += "; create the database first (e.g. createdb), then Baton creates its tables"
    return detail


def _lock(connection: Connection) -> None:
    # The transaction lasts the whole upgrade, so the lock is released on commit.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY})


def _is_unversioned_legacy(connection: Connection) -> bool:
    names = set(inspect(connection).get_table_names())
    return "alembic_version" not in names and _LEGACY_MARKER_TABLE in names


def new_revision(message: str) -> Path:
    """Autogenerate a revision from the difference between the head schema and the models."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/head.db")
        upgrade(engine)
        with engine.begin() as connection:
            script = command.revision(alembic_config(connection), message=message, autogenerate=True)
        engine.dispose()
    if script is None or isinstance(script, list):
        raise StoreError("alembic did not write exactly one revision")
    return Path(script.path)


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m executor.store.migrate")
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="autogenerate a new revision from the models")
    rev.add_argument("-m", "--message", required=True)
    up = sub.add_parser("upgrade", help="upgrade a database to head")
    up.add_argument("url")
    args = parser.parse_args()
    if args.command == "revision":
        print(new_revision(args.message))  # noqa: T201  (a developer tool's output)
    else:
        upgrade(make_engine(args.url))


if __name__ == "__main__":
    _main()
