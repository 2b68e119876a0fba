"""Fixtures: a live API server over fresh settings, and per-user HTTP clients."""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services

from .live import make_settings, serve, token_of


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
    clients: list[httpx.Client] = []

    def make(user_id: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token_of(user_id)}"} if user_id else {}
        client = httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
