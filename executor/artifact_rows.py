"""Artifacts as rows of the ``artifacts`` table, so that workers on several machines share them.

The file store keeps an artifact under one process's ``data_dir``: a later step run
by a worker on another machine, or ``baton runs show`` run elsewhere, could not read
it. Rows live where the runs do. URIs and content addressing are the file store's,
so an artifact written as a file before the switch is still read from the file (and
the file store, given the engine, reads rows written before a switch back).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from .artifacts import URI_PREFIX, ArtifactError, ArtifactStore
from .store.db import database_errors
from .store.schema import ArtifactRow
from .telemetry import bind_log

_ROWS = ArtifactRow.__table__  # type: ignore[attr-defined]  (SQLModel sets it on table models)
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class DatabaseArtifactStore(ArtifactStore):
    """Writes artifacts as database rows; reads rows, then files under ``root``.

    Database failures are ``StoreError``s ("the database failed while …"), as the run
    store's are; a missing or altered artifact is an ``ArtifactError`` naming its URI.
    """

    def __init__(self, engine: Engine, root: Path, *, threshold_bytes: int) -> None:
        super().__init__(root, threshold_bytes=threshold_bytes, engine=engine)

    def put(self, data: bytes) -> str:
        """Store ``data`` once and return its SHA-256 hex digest, committed before returning.

        Workers storing the same bytes at once both succeed and leave one row. A row that
        no longer holds exactly ``data`` (altered since) is written anew.
        """
        digest = hashlib.sha256(data).hexdigest()
        with database_errors(f"storing artifact {URI_PREFIX}{digest}"), \
                self.engine.begin() as connection:
            if not _insert_new(connection, digest, data):
                _repair(connection, digest, data)
        return digest

    def _places(self) -> tuple[Callable[[str, str], bytes | None], ...]:
        return self._read_row, self._read_file


def read_row(engine: Engine, uri: str, digest: str) -> bytes | None:
    """The row of ``digest`` checked against its hash; None if there is none."""
    with database_errors(f"reading artifact {uri}"), engine.connect() as connection:
        data = connection.execute(
            select(_ROWS.c.data).where(_ROWS.c.sha256 == digest)).scalar_one_or_none()
    if data is None:
        return None
    if hashlib.sha256(data).hexdigest() != digest:
        raise ArtifactError(f"artifact {uri} does not match its hash (its row in the "
                            "database's artifacts table was altered)")
    return bytes(data)


def _insert_new(connection: Connection, digest: str, data: bytes) -> bool:
    """Insert the row unless one with ``digest`` exists (or commits meanwhile); True if inserted."""
    insert = _INSERTS[connection.dialect.name](_ROWS).values(
        sha256=digest, data=data, size=len(data), created_at=datetime.now(UTC)
    ).on_conflict_do_nothing(index_elements=["sha256"])
    return connection.execute(insert).rowcount == 1


def _repair(connection: Connection, digest: str, data: bytes) -> None:
    """Rewrite the row of ``digest`` unless it holds exactly ``data``."""
    stored = connection.execute(select(_ROWS.c.data).where(_ROWS.c.sha256 == digest)).scalar_one()
    if bytes(stored) == data:
        return
    connection.execute(update(_ROWS).where(_ROWS.c.sha256 == digest)
                       .values(data=data, size=len(data)))
    bind_log().warning("artifact row did not match its hash; written anew", sha256=digest)
