"""Database fixtures for the executor tests: SQLite files and, when reachable, PostgreSQL.

Each PostgreSQL test gets its own schema (via ``search_path``), dropped afterwards,
so tests never see each other's rows.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from executor.store.db import make_engine
from tools import ToolSpec

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_available() -> bool:
    """Whether the local PostgreSQL test server answers."""
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # any failure to connect means "skip", never "fail"
        return False


_PG = postgres_available()


def pg_schema_url() -> tuple[str, str]:
    """A fresh schema on the test server and a URL whose connections use it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema, f"{PG_URL}?options=-csearch_path%3D{schema}"


def drop_pg_schema(schema: str) -> None:
    """Drop a schema made by ``pg_schema_url``."""
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, then a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'baton.db'}"
        return
    if not _PG:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema, url = pg_schema_url()
    try:
        yield url
    finally:
        drop_pg_schema(schema)


@pytest.fixture
def empty_engine(db_url) -> Iterator[Engine]:
    """An engine on an empty database (schema not created)."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine) -> Engine:
    """An engine whose schema is at the head revision."""
    from executor.store.migrate import upgrade

    upgrade(empty_engine)
    return empty_engine


@pytest.fixture
def exporter():
    """An in-memory span exporter behind a provider the executor traces with, for this test only."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from executor.telemetry import use_tracer_provider

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    use_tracer_provider(provider)
    yield memory
    use_tracer_provider(None)
    provider.shutdown()


@pytest.fixture
def shaped_in(monkeypatch) -> list[int]:
    """The threads ``ToolSpec.shape_prechecked`` runs in (it shapes a tool's output)."""
    threads: list[int] = []
    shape = ToolSpec.shape_prechecked

    def noted(self: ToolSpec, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return shape(self, *args, **kwargs)

    monkeypatch.setattr(ToolSpec, "shape_prechecked", noted)
    return threads
