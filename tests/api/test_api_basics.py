"""The API's edges through real HTTP: auth, error shape, body limits, tools, ledger, OpenAPI."""

from __future__ import annotations

import json
import socket

import pytest

from baton.services import Services

from .live import make_settings, serve, token_of


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_healthz_answers_without_a_token(client_for):
    response = client_for(None).get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_fails_while_every_tool_thread_is_held_by_a_stuck_tool(client_for, monkeypatch):
    # Only a restart frees them (sync calls fail at once meanwhile): a supervisor reading
    # the health check must hear of it.
    import asyncio
    import threading
    import time

    from executor import tool_threads

    threads = tool_threads.ToolThreads(max_threads=1)
    release = threading.Event()

    async def hang_past_its_timeout() -> None:
        job = threads.start(release.wait, {}, "x.hang")
        while not job.started:
            await asyncio.sleep(0.01)
        assert job.abandon()

    asyncio.run(hang_past_its_timeout())
    monkeypatch.setattr(tool_threads, "TOOL_THREADS", threads)
    client = client_for(None)
    try:
        response = client.get("/healthz")
        assert_error(response, 503, "no_tool_thread")
        assert "restart" in response.json()["error"]["message"]
        assert "x.hang" not in response.text  # anyone may ask: tool names go to the log
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while threads.held_by_stuck_tools() is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.get("/healthz").status_code == 200  # the tool returned: healthy again


@pytest.mark.parametrize("header", [None, "Bearer not-a-known-token", "Basic YWxpY2U6eA=="])
def test_missing_or_unknown_token_is_401_with_a_bearer_challenge(client_for, header):
    client = client_for(None)
    headers = {"Authorization": header} if header else {}
    response = client.get("/tools", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_user_without_roles_is_403(client_for):
    assert_error(client_for("erin").get("/tools"), 403, "forbidden")


def test_tools_list_and_show(client_for):
    client = client_for("alice")
    tools = {tool["name"]: tool for tool in client.get("/tools").json()}
    assert "files.read" in tools and list(tools) == sorted(tools)
    assert tools["http.request"]["sends_idempotency_key"] is True
    assert tools["files.read"]["sends_idempotency_key"] is False
    info = client.get("/tools/files.read").json()
    assert info["effect"] == "read"
    assert "path" in info["input_schema"]["properties"]


def test_unknown_tool_is_404_naming_the_closest(client_for):
    response = client_for("alice").get("/tools/files.raed")
    assert_error(response, 404, "unknown_tool")
    assert "files.read" in response.json()["error"]["message"]


def test_ledger_verify_and_export(client_for, services):
    services.ledger.append("goal", "p-1", "alice", {"goal": "count rows"})
    services.ledger.append("goal", "p-2", "alice", {"goal": "sum rows"})
    client = client_for("dave")
    head = services.ledger.head()
    assert client.get("/ledger/verify").json() == {"ok": True, "events": 2,
                                                   "first_broken_seq": None, "reason": None,
                                                   "head": f"{head[0]}:{head[1]}"}
    lines = client.get("/ledger/export", params={"subject": "p-2"}).text.splitlines()
    assert [json.loads(line)["subject"] for line in lines] == ["p-2"]
    cloud = client.get("/ledger/export", params={"format": "cloudevents"}).text.splitlines()
    assert [json.loads(line)["specversion"] for line in cloud] == ["1.0", "1.0"]
    assert_error(client.get("/ledger/export", params={"format": "xml"}), 422, "invalid_request")


def test_ledger_export_source_comes_from_the_query_then_the_settings(tmp_path):
    import httpx

    services = Services(make_settings(tmp_path, audit={"cloudevents_source": "urn:acme:baton"}))
    services.ledger.append("goal", "p-1", "alice", {"goal": "count rows"})
    live = serve(services)
    try:
        client = httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                              headers={"Authorization": f"Bearer {token_of('dave')}"})
        with client:
            def sources(**params: str) -> set[str]:
                response = client.get("/ledger/export", params={"format": "cloudevents", **params})
                assert response.status_code == 200, response.text
                return {json.loads(line)["source"] for line in response.text.splitlines()}

            assert sources() == {"urn:acme:baton"}
            assert sources(source="https://audit.example.com/b") == {"https://audit.example.com/b"}
    finally:
        live.stop()


@pytest.mark.parametrize("source", ["", " ", "urn:acme\nbaton", "urn:{env}"])
def test_ledger_export_refuses_a_source_that_is_not_a_uri_reference(client_for, source):
    response = client_for("dave").get("/ledger/export",
                                      params={"format": "cloudevents", "source": source})
    assert_error(response, 422, "invalid_request")
    message = response.json()["error"]["message"]
    assert "source" in message and "URI-reference" in message and "\n" not in message


def test_ledger_export_refuses_a_source_for_json_lines(client_for):
    response = client_for("dave").get("/ledger/export", params={"source": "urn:acme"})
    assert_error(response, 422, "invalid_request")
    assert "cloudevents" in response.json()["error"]["message"]


def test_oversized_body_is_413_by_declared_length(client_for):
    response = client_for("alice").post("/policy/decision", content=b"x" * (64 * 1024 + 1),
                                        headers={"Content-Type": "application/json"})
    assert_error(response, 413, "body_too_large")


def test_oversized_chunked_body_is_413_by_counted_bytes(server):
    # A chunked body declares no length: the limit must be enforced on the bytes received.
    chunks = [b"x" * 32768, b"x" * 32768, b"x"]  # one byte over, and no Content-Length
    request = (b"POST /api/v1/policy/decision HTTP/1.1\r\nHost: x\r\n"
               + f"Authorization: Bearer {token_of('alice')}\r\n".encode()
               + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks)
               + b"0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk_in := sock.recv(65536):
            received += chunk_in
        reply = received.decode("latin-1")
    head, _, body = reply.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413")
    assert json.loads(body)["error"]["code"] == "body_too_large"


def test_unknown_route_uses_the_error_shape(client_for):
    assert_error(client_for("alice").get("/no-such-thing"), 404, "not_found")


def _refs(value):
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"]
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def test_openapi_document_is_complete_and_documents_bearer_auth(server):
    import httpx

    document = httpx.get(server.url + "/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for ref in set(_refs(document)):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]  # KeyError: a dangling $ref
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert operation.get("responses"), f"{method} {path} documents no response"
            if path != "/api/v1/healthz":
                assert "401" in operation["responses"], f"{method} {path} lacks 401"


def test_a_table_gone_from_under_a_request_is_a_500_schema_mismatch_not_a_503(client_for,
                                                                              services):
    # A 503 says "the database failed, retry": this database is up and will stay wrong.
    from sqlalchemy import text

    assert client_for("dave").get("/runs").status_code == 200
    with services.engine.begin() as conn:
        conn.execute(text("DROP TABLE runs"))
    response = client_for("dave").get("/runs")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "schema_mismatch"
    assert error["message"].startswith("the database's schema does not match this Baton's")
    assert "no such table: runs" in error["message"] and "retrying will not help" in error["message"]


def test_a_ledger_export_over_a_broken_database_is_an_error_not_a_200_cut_short(client_for,
                                                                                services):
    from sqlalchemy import text

    dave = client_for("dave")
    assert dave.get("/ledger/export").status_code == 200
    with services.engine.begin() as conn:
        conn.execute(text("DROP TABLE ledger"))
    response = dave.get("/ledger/export")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "schema_mismatch"


DEAD_DATABASE = "postgresql+psycopg://baton:dbpassword123456@127.0.0.1:1/baton"


def test_healthz_over_a_dead_database_says_so_in_one_line_without_driver_detail(tmp_path):
    from fastapi.testclient import TestClient

    from baton.api import create_app

    services = Services(make_settings(tmp_path, database_url=DEAD_DATABASE))
    client = TestClient(create_app(services, worker_poll_s=None), raise_server_exceptions=False)
    response = client.get("/api/v1/healthz")  # no token: anyone may ask
    assert_error(response, 503, "store_error")
    assert response.json()["error"]["message"] == "the database is unreachable"


def test_an_authenticated_route_over_a_dead_database_is_a_store_error_saying_only_its_kind(
        tmp_path):
    from fastapi.testclient import TestClient
    from structlog.testing import capture_logs

    from baton.api import create_app

    services = Services(make_settings(tmp_path, database_url=DEAD_DATABASE))
    client = TestClient(create_app(services, worker_poll_s=None), raise_server_exceptions=False,
                        headers={"Authorization": f"Bearer {token_of('dave')}"})
    with capture_logs() as logs:
        response = client.get("/api/v1/plans")
    assert_error(response, 503, "store_error")
    message = response.json()["error"]["message"]
    # Where the database is (user, host, port, name) is for the server log, as /healthz keeps it.
    assert message.startswith("the database is unreachable: ") and "server log" in message
    assert "127.0.0.1" not in message and "dbpassword123456" not in message
    [logged] = [e for e in logs if e["event"] == "database failed"]
    assert "127.0.0.1" in logged["error"] and "dbpassword123456" not in logged["error"]
