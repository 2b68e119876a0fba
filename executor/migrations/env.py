"""Alembic environment: migrates the connection handed over in ``config.attributes``.

``executor.store.migrate`` builds the alembic ``Config`` in code and passes an
open connection (already holding the upgrade lock), so the same path serves
SQLite files, in-memory SQLite and PostgreSQL. There is no alembic.ini.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

from executor.store import schema  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render SQLModel's column types as their plain SQLAlchemy equivalents.

    Revisions then need no sqlmodel import and keep working if sqlmodel renames
    its helper types.
    """
    if type_ != "type":
        return False
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    """Run the pending revisions on the connection the caller passed in."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "Baton's migrations run through executor.store.migrate.upgrade(engine), "
            "which passes a connection; the alembic command line is not wired up."
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
