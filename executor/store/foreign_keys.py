"""Foreign keys during a schema upgrade: off on SQLite while tables are rebuilt, checked after.

Alembic's batch mode alters a SQLite table by rebuilding it (a new table, the rows copied,
``DROP TABLE`` of the old one, the new one renamed). With foreign keys on, as every Baton
connection has them (``store.db``), dropping ``runs`` while ``run_steps`` rows refer to it
fails, so a database holding a run with steps could not be upgraded. SQLite's own procedure
for altering a table (https://www.sqlite.org/lang_altertable.html, "other kinds of table
schema changes") turns them off first, outside any transaction (the pragma does nothing
inside one), and runs ``PRAGMA foreign_key_check`` before committing. PostgreSQL alters
tables in place and keeps its constraints checked throughout: nothing is done there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from .db import StoreError

# Row ids named per table in a refusal: enough to find the rows, not a page of them.
_ROWIDS_NAMED = 5


@contextmanager
def sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Foreign keys off on a SQLite ``connection`` for the block, which must begin (and end)
    the connection's transaction; on again after it. A connection whose foreign keys cannot
    be seen to be on again is discarded, never handed back to the pool without them."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")  # no transaction is open yet: it takes effect
    try:
        yield
    finally:
        if not _foreign_keys_back_on(driver):
            connection.invalidate()


def _foreign_keys_back_on(driver: sqlite3.Connection) -> bool:
    try:
        driver.execute("PRAGMA foreign_keys=ON")  # silently nothing if a transaction were open
        return driver.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    except sqlite3.Error:
        return False


def refuse_broken_references(connection: Connection, where: str) -> None:
    """Raise a ``StoreError`` naming every table whose rows refer to a row that does not exist
    (SQLite: checked here, before the upgrade commits, since the rebuilds ran unchecked), so
    that the upgrade rolls back and nothing is changed."""
    if connection.dialect.name != "sqlite":
        return
    broken: dict[tuple[str, str], list[int]] = {}
    for table, rowid, parent, _key in connection.exec_driver_sql("PRAGMA foreign_key_check"):
        broken.setdefault((table, parent), []).append(rowid)
    if not broken:
        return
    problems = "; ".join(_broken(table, parent, rowids)
                         for (table, parent), rowids in sorted(broken.items()))
    raise StoreError(
        f"cannot upgrade the schema of the database {where}: {problems}; the upgrade was "
        "rolled back and nothing was changed: restore the missing rows or delete the rows "
        "that refer to them, then run Baton again")


def _broken(table: str, parent: str, rowids: list[int]) -> str:
    named = ", ".join(str(rowid) for rowid in rowids[:_ROWIDS_NAMED])
    more = ", …" if len(rowids) > _ROWIDS_NAMED else ""
    rows = "1 row" if len(rowids) == 1 else f"{len(rowids)} rows"
    verb = "refers" if len(rowids) == 1 else "refer"
    return f"{rows} of {table} {verb} to no row of {parent} (rowid {named}{more})"
