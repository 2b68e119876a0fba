"""A request without a valid token is refused (401) before anything looks at its body.

The NUL check and FastAPI's JSON parsing ran before the route's token check, so an
unauthenticated caller got 400 ``malformed_json`` or 422 ``invalid_request`` where the API
promises 401, and learnt how its request would be judged without any right to send it.
"""

from __future__ import annotations

import json
import re
import socket

import httpx
import pytest

from .live import token_of
from .test_api_basics import assert_error

MALFORMED = b'{"goal":'
WITH_NUL = b'{"goal": "a\\u0000"}'
JSON = {"Content-Type": "application/json"}
TOKENS = {"none": None, "unknown": "Bearer not-a-known-token", "basic": "Basic YWxpY2U6eA=="}


def _headers(token: str | None) -> dict[str, str]:
    return {**JSON, **({"Authorization": token} if token else {})}


@pytest.mark.parametrize("token", list(TOKENS))
@pytest.mark.parametrize("body", [MALFORMED, WITH_NUL], ids=["malformed-json", "nul"])
def test_a_body_sent_without_a_valid_token_is_401_not_judged(client_for, token, body):
    response = client_for(None).post("/plans", content=body, headers=_headers(TOKENS[token]))
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_nul_in_the_path_without_a_token_is_401(client_for):
    assert_error(client_for(None).get("/plans/p-1%00"), 401, "unauthorized")


def test_a_body_past_the_size_limit_without_a_token_is_401(client_for):
    response = client_for(None).post("/plans", content=b"x" * (64 * 1024 + 1), headers=JSON)
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(("token", "status", "code"), [
    (None, 401, "unauthorized"), ("alice", 413, "body_too_large")])
def test_an_oversized_chunked_body_is_counted_only_for_a_valid_token(server, token, status,
                                                                     code):
    # A chunked body declares no length: with a token, the limit is enforced on the bytes
    # received; without one, none of them is read.
    chunks = [b"x" * 32768, b"x" * 32768, b"x"]  # one byte over, and no Content-Length
    authorization = f"Authorization: Bearer {token_of(token)}\r\n".encode() if token else b""
    request = (b"POST /api/v1/policy/decision HTTP/1.1\r\nHost: x\r\n" + authorization
               + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks)
               + b"0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk_in := sock.recv(65536):
            received += chunk_in
    head, _, body = received.decode("latin-1").partition("\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}")
    assert json.loads(body)["error"]["code"] == code


def test_every_route_that_needs_a_token_refuses_a_bad_body_without_one_with_401(server):
    """Each operation documenting a 401: no token, a NUL in its path and a malformed body."""
    document = httpx.get(server.url + "/openapi.json").json()
    checked = 0
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if "401" not in operation["responses"]:
                    continue
                url = re.sub(r"\{[^}]+\}", "x%00", path)
                response = client.request(method, url, content=MALFORMED, headers=JSON)
                assert response.status_code == 401, f"{method} {path}: {response.text}"
                checked += 1
    assert checked >= 15  # every route but the health check


def test_with_a_valid_token_the_body_is_judged_as_before(client_for):
    alice = client_for("alice")
    assert_error(alice.post("/plans", content=MALFORMED, headers=JSON), 400, "malformed_json")
    assert_error(alice.post("/plans", content=WITH_NUL, headers=JSON), 422, "invalid_request")


def test_a_role_that_lacks_the_action_is_still_403(client_for):
    response = client_for("erin").post("/plans", json={"goal": "Total sales.csv"})
    assert_error(response, 403, "forbidden")


def test_public_routes_answer_without_a_token(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/api/v1/healthz").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200
        assert client.get("/signin").status_code == 200
        assert client.get("/static/baton.css").status_code == 200
        assert client.get("/api/v1/no-such-route").status_code == 404


def test_the_web_sign_in_still_works(server):
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=True) as client:
        form = client.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        unknown = client.post("/signin", data={"csrf": csrf, "token": "nope"})
        assert unknown.status_code == 401 and "not known" in unknown.text
        page = client.post("/signin", data={"csrf": csrf, "token": token_of("bob")})
        assert page.status_code == 200 and page.url.path == "/"
        assert "<h1>Sign in</h1>" not in page.text
