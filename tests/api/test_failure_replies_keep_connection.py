"""A failure under a route is answered like any other reply: the connection stays usable.

Starlette runs an app's ``Exception`` handler in its outermost error middleware, which sends
the reply and then raises the exception again for the server: uvicorn logged a second
traceback ("Exception in ASGI application") and closed the kept-alive connection without a
``Connection: close``, so the client's next request on it met a reset. A database that went
away (503 ``store_error``), a schema that does not match (500 ``schema_mismatch``) and a bug
(500 ``internal_error``) all went that way, on the web pages too.

``TestClient`` raises what the app raises again (``raise_server_exceptions``, its default):
a reply that is then raised on fails these tests.
"""

from __future__ import annotations

import http.client
import logging
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from baton.api import create_app
from baton.services import Services
from executor.store import StoreError
from tests.executor.conftest import _PG, drop_pg_schema, pg_schema_url
from tests.executor.tcp_proxy import TcpProxy

from .live import LiveServer, make_settings, token_of


def _refused(*_args, **_kwargs):
    """What a store call raises once PostgreSQL refuses connections."""
    raise OperationalError("SELECT plans", {}, ConnectionRefusedError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        "Connection refused"))


@pytest.fixture
def services(tmp_path):
    return Services(make_settings(tmp_path))


def _client(services, user: str | None = "dave") -> TestClient:
    headers = {"Authorization": f"Bearer {token_of(user)}"} if user else {}
    return TestClient(create_app(services, worker_poll_s=None), headers=headers)


def test_a_database_error_under_a_route_is_a_503_not_raised_again(services, monkeypatch):
    monkeypatch.setattr("baton.usecases.plan_listing.listed_plans", _refused)
    with capture_logs() as logs:
        response = _client(services).get("/api/v1/plans")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "store_error"
    # The driver's words (host, port) go to the server log, not to the token holder.
    assert response.json()["error"]["message"] == "the database failed; the server log says why"
    [logged] = [e for e in logs if e["log_level"] != "info"]
    assert logged["event"] == "database failed" and "Connection refused" in logged["error"]


def test_a_schema_mismatch_under_a_route_is_a_500_not_raised_again(services):
    client = _client(services)
    assert client.get("/api/v1/runs").status_code == 200
    with services.engine.begin() as conn:
        conn.execute(text("DROP TABLE runs"))
    response = client.get("/api/v1/runs")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "schema_mismatch"


def test_a_bug_under_a_route_is_a_500_logged_once_with_its_traceback(services, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("baton.usecases.plan_listing.listed_plans", broken)
    with capture_logs() as logs:
        response = _client(services).get("/api/v1/plans")
    assert response.status_code == 500
    assert response.json()["error"] == {"code": "internal_error",
                                        "message": "internal error; see the server log"}
    [logged] = [e for e in logs if e["log_level"] != "info"]
    assert logged["event"] == "unhandled error" and logged["exc_info"] is True


def test_a_failure_in_the_token_check_is_answered_by_the_handler_for_its_type(
        services, monkeypatch):
    # Raised outside the routes' handlers (in a middleware): still the reply a route gets.
    def store_down(*_args, **_kwargs):
        raise StoreError("the database failed while reading a token: connection refused")

    monkeypatch.setattr("baton.api.auth.authenticate", store_down)
    response = _client(services).get("/api/v1/plans")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "store_error"


def test_a_page_over_a_failed_database_is_a_503_page_not_raised_again(services, monkeypatch):
    client = _client(services, user=None)
    form = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    signed = client.post("/signin", data={"csrf": csrf, "token": token_of("bob")},
                         follow_redirects=False)
    assert signed.status_code == 303
    monkeypatch.setattr("baton.usecases.runs.list_runs", _refused)
    page = client.get("/runs")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "the server log says why" in page.text and "Connection refused" not in page.text


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.postgres
def test_a_kept_alive_connection_outlives_the_503s_of_a_database_gone_away(tmp_path):
    if not _PG:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema, url = pg_schema_url()
    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    services = Services(make_settings(tmp_path, database_url=proxied))
    live = LiveServer(create_app(services, worker_poll_s=None))
    records = _Records()
    logging.getLogger("uvicorn.error").addHandler(records)  # after uvicorn set its logging up
    live.start()
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    headers = {"Authorization": f"Bearer {token_of('dave')}"}
    try:
        connection.request("GET", "/api/v1/plans", headers=headers)
        assert connection.getresponse().read() == b"[]"
        proxy.stop()
        for _ in range(2):  # on the same connection: the second request used to meet a reset
            connection.request("GET", "/api/v1/plans", headers=headers)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 503, body
            assert response.getheader("connection") is None
            # Told by its kind: where the server is (host, port) is for the server log.
            assert b"the database is unreachable" in body and b"127.0.0.1" not in body, body
        assert not [m for m in records.messages if "Exception in ASGI" in m]
    finally:
        connection.close()
        logging.getLogger("uvicorn.error").removeHandler(records)
        live.stop()
        proxy.stop()
        services.engine.dispose()
        drop_pg_schema(schema)
