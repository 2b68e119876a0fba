"""Fixtures: a live API server over fresh settings, and per-user HTTP clients.

``store_client_for`` is ``client_for`` over each store in turn: a SQLite file, then
PostgreSQL (skipped when the local server does not answer).
"""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services

from tests.executor.conftest import db_url  # noqa: F401 - fixture: SQLite, then PostgreSQL

from .live import LiveServer, make_settings, serve, token_of


@pytest.fixture
def services(tmp_path):
    """Services over a fresh data directory."""
    return Services(make_settings(tmp_path))


@pytest.fixture
def server(services):
    """The API served by uvicorn on 127.0.0.1."""
    live = serve(services, max_body_bytes=64 * 1024)
    yield live
    live.stop()


@pytest.fixture
def client_for(server):
    """``client_for(user_id)``: an httpx client sending that user's token (None: no token)."""
    yield from _clients(server)


@pytest.fixture
def store_services(db_url, tmp_path):  # noqa: F811 - the fixture imported above
    """Services over the database of ``db_url``: SQLite, then PostgreSQL."""
    services = Services(make_settings(tmp_path, database_url=db_url))
    yield services
    if "engine" in services.__dict__:  # built: close its connections before the schema is dropped
        services.engine.dispose()


@pytest.fixture
def store_client_for(store_services):
    """``client_for`` over a server on ``store_services`` (each store in turn)."""
    live = serve(store_services, max_body_bytes=64 * 1024)
    try:
        yield from _clients(live)
    finally:
        live.stop()


def _clients(server: LiveServer):
    clients: list[httpx.Client] = []

    def make(user_id: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token_of(user_id)}"} if user_id else {}
        client = httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
