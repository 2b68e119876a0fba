"""Bring a database's schema up to date."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from . import schema  # noqa: F401  (registers the tables on the metadata)


def upgrade(engine: Engine) -> None:
    """Create or upgrade every table. (Replaced by alembic migrations in the executor issue.)"""
    SQLModel.metadata.create_all(engine)
