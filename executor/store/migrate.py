"""Bring a database's schema up to date with the alembic revisions in ``executor/migrations``.

``upgrade(engine)`` is the one entry point. A database already at head (what
nearly every command finds) is seen from a read that takes no lock. Otherwise it
runs every pending revision on one connection inside one transaction that also
holds a lock, so two processes upgrading the same database at once take turns
(SQLite: the ``BEGIN IMMEDIATE`` that ``store.db`` issues; PostgreSQL: an
advisory lock); a database holding no table at all is made from the models and
stamped head instead of replaying every revision. A database made by the old
``create_all`` (tables present, no ``alembic_version``) is stamped with the
baseline revision, never recreated, so an upgrade does not lose a record. One
at a revision this Baton does not know (a newer Baton wrote it) is refused,
nothing written, and so is one at a revision id of Baton's that holds no Baton
table (another application's). On SQLite the revisions run with foreign keys
off, as SQLite's table rebuilds need, and the references are checked before
the transaction commits (``store.foreign_keys``).
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from . import schema  # noqa: F401  (registers the tables on the metadata)
from .db import (StoreError, database_failure, is_schema_mismatch, make_engine,
                 read_transaction, sqlite_file)
from .foreign_keys import refuse_broken_references, sqlite_foreign_keys_off

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
BASELINE_REVISION = "0001"
# Arbitrary, distinct from the ledger's append lock (727274).
UPGRADE_LOCK_KEY = 727275
# A table every Baton database has had since the first release of the schema.
_LEGACY_MARKER_TABLE = "ledger"


class UnknownSchemaError(StoreError):
    """The database is at a schema revision this Baton does not know (a newer Baton's, or not
    Baton's): nothing is written into it."""

    code = "unknown_schema_revision"


class NotABatonDatabaseError(StoreError):
    """The database holds no Baton schema (another application's, an empty one): a reader
    refuses it, and so does an upgrade when its alembic revision is one of Baton's ids."""

    code = "not_a_baton_database"


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic ``Config`` built in code; ``connection`` is handed to ``env.py``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _revision_scripts() -> ScriptDirectory:
    """The revisions in ``executor/migrations/versions``, read once per process: alembic
    executes every revision file each time it builds one, which cost every command ~20 ms."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision id in ``executor/migrations/versions``."""
    head = _revision_scripts().get_current_head()
    if head is None:
        raise StoreError("no migration revisions found in executor/migrations/versions")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def known_revisions() -> set[str]:
    """Every revision id in ``executor/migrations/versions``."""
    return {revision.revision for revision in _revision_scripts().walk_revisions()}


def upgrade(engine: Engine, origin: str | None = None) -> None:
    """Create or upgrade every table to the head revision, keeping every row.

    ``origin`` says which setting gave the database's location ("data_dir in
    /srv/baton.toml"): a failure names the database, that setting and the cause
    (:func:`cannot_use_database`). A database at a revision this Baton does not know is an
    :class:`UnknownSchemaError`, and nothing is written into it.
    """
    at: set[str] | None = None  # the revisions the database is at, once read
    try:
        # Most commands find the schema up to date: seen without the upgrade's lock (on
        # SQLite a write lock), they neither wait for nor hold up anyone.
        with read_transaction(engine) as connection:
            at = _revisions_at(connection)
            # At head and holding the ledger: up to date. Another application's database
            # stamped with Baton's head id is refused below, under the lock, before any write.
            up_to_date = at == {head_revision()} and \
                inspect(connection).has_table(_LEGACY_MARKER_TABLE)
        if up_to_date:
            return
        with engine.connect() as connection, sqlite_foreign_keys_off(connection), \
                connection.begin():
            _lock(connection)
            at = _revisions_at(connection)
            _upgrade_locked(connection, at, engine, origin)
            refuse_broken_references(connection, _where(engine, origin))
    except StoreError:
        raise
    except Exception as exc:  # translated at the edge: callers see one error type
        # Named an upgrade only when one was due: most commands find the schema up to date.
        doing = "open" if at is None or at == {head_revision()} else "upgrade the schema of"
        raise StoreError(cannot_use_database(doing, engine, origin, exc)) from exc


def _upgrade_locked(connection: Connection, at: set[str], engine: Engine,
                    origin: str | None) -> None:
    """Bring the database to head inside the upgrade's transaction, holding its lock."""
    if not at and not inspect(connection).get_table_names():
        _create_at_head(connection)
        return
    _refuse_without_baton_tables(at, connection, engine, origin)
    config = alembic_config(connection)
    if _is_unversioned_legacy(connection):
        command.stamp(config, BASELINE_REVISION)
    try:
        command.upgrade(config, "head")
    except CommandError:  # alembic's "Can't locate revision": say what it means
        _refuse_unknown(at, connection, engine, origin)
        raise


def cannot_use_database(doing: str, engine: Engine, origin: str | None, exc: BaseException) -> str:
    """"cannot DOING the database WHERE (from ORIGIN): CAUSE", for every command that opens one.

    ``doing`` is what failed ("read", "open", "upgrade the schema of"). WHERE is the SQLite
    file, with what the file system says of it when SQLite only says it could not open it,
    or the server's URL without its password; ORIGIN the setting that gave it (left out
    when None). CAUSE is the driver's first line, without SQLAlchemy's wrapper.
    """
    cause = _explained(getattr(exc, "orig", None) or exc)
    file = sqlite_file(engine)
    if file is not None and "unable to open database file" in cause:
        cause += _why_sqlite_cannot_open(file.path)
    elif file is not None and "readonly database" in cause:
        cause += _why_sqlite_cannot_write(file.path)
    return f"cannot {doing} the database {_where(engine, origin)}: {cause}"


def schema_mismatch(exc: BaseException) -> str | None:
    """What to say of a statement that failed on a column or table the database lacks (None:
    ``exc`` is another failure): its schema is not this Baton's, and waiting will not fix it.

    The upgrade that opens a database has brought it to this Baton's head revision, so that
    revision is named: the schema differs from what it stands for.
    """
    if not is_schema_mismatch(exc):
        return None
    # The driver's own words: a StoreError wrapping it says "the database failed while …",
    # which is what this message exists to correct.
    driver = exc
    while isinstance(driver, StoreError) and driver.__cause__ is not None:
        driver = driver.__cause__
    return (f"the database's schema does not match this Baton's (schema revision "
            f"{head_revision()}): {database_failure(driver)}; retrying will not help: the "
            "database was changed by another Baton or by hand")


def database_location(engine: Engine) -> str:
    """How every message names a database: the SQLite file, or the server's URL without its
    password, nor its query (libpq takes a password there too)."""
    file = sqlite_file(engine)
    return file.path if file is not None else \
        engine.url.set(query={}).render_as_string(hide_password=True)


def _where(engine: Engine, origin: str | None) -> str:
    where = database_location(engine)
    return where if origin is None else f"{where} (from {origin})"


def _why_sqlite_cannot_open(path: str) -> str:
    """What SQLite's "unable to open database file" means here, when the file system tells."""
    if os.path.isdir(path):
        return " (it is a directory)"
    directory = os.path.dirname(path)
    if not os.access(directory, os.W_OK):  # the file, its journal and WAL are made there
        return f" (its directory {directory} is not writable)"
    return ""


def _why_sqlite_cannot_write(path: str) -> str:
    """What SQLite's "attempt to write a readonly database" means when the file is writable:
    a database in WAL mode needs its -wal and -shm files made beside it, in its directory."""
    directory = os.path.dirname(path)
    if os.access(path, os.W_OK) and not os.access(directory, os.W_OK):
        return f" (its directory {directory} is not writable)"
    return ""


def _refuse_without_baton_tables(at: set[str], connection: Connection, engine: Engine,
                                 origin: str | None) -> None:
    """Refuse, before anything is written, a database stamped with one of Baton's revision ids
    that holds no Baton table: another application's that uses alembic too (its ids can be
    "0003" as well). Upgraded, it failed in the first revision that alters a Baton table."""
    if not at or not at <= known_revisions():
        return  # never migrated, or at a revision _refuse_unknown names
    if _LEGACY_MARKER_TABLE in inspect(connection).get_table_names():
        return
    raise NotABatonDatabaseError(
        f"no Baton database at {_where(engine, origin)}: it has no Baton tables, and its "
        f"alembic_version ({', '.join(sorted(at))}) is another application's revision; "
        "nothing was written: fix the setting")


def _refuse_unknown(at: set[str], connection: Connection, engine: Engine,
                    origin: str | None) -> None:
    """Refuse, before anything is written, a revision this Baton does not know."""
    unknown = sorted(at - known_revisions())
    if not unknown:
        return
    where, revisions = _where(engine, origin), ", ".join(unknown)
    if _LEGACY_MARKER_TABLE in inspect(connection).get_table_names():
        raise UnknownSchemaError(
            f"the database {where} was written by a newer Baton (schema revision {revisions}; "
            f"this Baton knows up to {head_revision()}): upgrade Baton; nothing was written")
    raise UnknownSchemaError(
        f"the database {where} is at schema revision {revisions}, which this Baton does not "
        "know, and has no Baton tables (another application's?): fix the setting; nothing "
        "was written")


def _explained(exc: BaseException) -> str:
    """The driver's first line, and what to do when the database itself is missing."""
    detail = database_failure(exc)
    if "database" in detail and "does not exist" in detail:
        # Baton creates its tables, not the database: that needs rights Baton should not hold.
        detail += "; create the database first (e.g. createdb), then Baton creates its tables"
    return detail


def _revisions_at(connection: Connection) -> set[str]:
    """The revisions the database is stamped with (none: never migrated, or not Baton's)."""
    return set(MigrationContext.configure(connection).get_current_heads())


def _create_at_head(connection: Connection) -> None:
    """Make a database that holds no table at all straight at the head revision: the tables
    as the models declare them, stamped with the head.

    Alembic's recipe for a new database: replaying every revision rebuilt tables that the
    next revision rebuilt again (~0.2 s, most of the test suite's setup). The models are the
    revisions' sum: ``tests/executor/test_migrations_fresh_schema.py`` holds both ways to
    the same schema.
    """
    SQLModel.metadata.create_all(connection)
    MigrationContext.configure(connection).stamp(_revision_scripts(), "head")


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
        with engine.begin() as connection:
            # Replayed, not upgrade(): a new database is made from the models, and the
            # models compared with themselves would autogenerate an empty revision.
            command.upgrade(alembic_config(connection), "head")
            script = command.revision(alembic_config(connection), message=message,
                                      autogenerate=True)
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
