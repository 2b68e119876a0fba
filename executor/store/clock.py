"""The database's clock, read in one query: what approvals are stamped and judged by.

API servers and workers on several machines share one PostgreSQL database, and their clocks
may disagree by hours. An approval is stamped when it is given and judged by whoever lists a
plan or starts its run: with each machine's own clock, one running behind would stamp
approvals that expired before they were given, and one running ahead would keep expired
ones counting. The database server's clock is the one clock they all share (leases and the
run queue go by it too: ``claims.RunClaims``). SQLite is one machine's file, so its clock is
that machine's; it is read the same way, through the database, so that every backend takes
one code path.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

# PostgreSQL: the moment itself, not the transaction's start (``now()``), which may be before
# a wait for a lock. SQLite: ``'now'`` to the millisecond (``CURRENT_TIMESTAMP`` keeps only
# whole seconds), as UTC without a zone.
_POSTGRES_NOW = func.clock_timestamp()
_SQLITE_NOW = func.strftime("%Y-%m-%d %H:%M:%f", "now")


def database_now(bind: Engine | Connection | Session) -> datetime:
    """Now by the database server's clock (timezone-aware UTC), read through ``bind``: an
    engine (a connection of its own), or a connection or session already open (read in its
    transaction, e.g. under a plan's lock)."""
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name
    query = select(_POSTGRES_NOW if dialect == "postgresql" else _SQLITE_NOW)
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            value = connection.execute(query).scalar_one()
    else:
        value = bind.execute(query).scalar_one()
    if isinstance(value, str):  # SQLite hands back its text
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)
