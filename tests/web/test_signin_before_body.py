"""A browser that is not signed in is sent to the sign-in page before anything judges its request.

The web forms checked the session after the app-wide NUL check and the body size limit had
run, so an anonymous ``POST /plans`` with a NUL got 422 and an over-size one 413 where it
must get the sign-in redirect whatever it sent, as the API answers 401 before the body.
"""

from __future__ import annotations

import re
import socket

import httpx
import pytest
from fastapi.routing import APIRoute

from baton.services import Services
from baton.settings import load_settings
from baton.web import views
from baton.web.session import COOKIE
from tests.api.live import serve, token_of

from .test_web_forms import signed_in

LIMIT = 64 * 1024
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BODIES = {"small": b"goal=x", "nul": b"goal=%00", "raw-nul": b"goal=a\x00",
          "oversize": b"goal=" + b"x" * LIMIT, "not-a-form": b'{"goal": "a\\u0000"}'}


@pytest.fixture
def live(settings_file):
    server = serve(Services(load_settings(settings_file, environ={})), max_body_bytes=LIMIT)
    yield server
    server.stop()


def _routes() -> list[tuple[str, str]]:
    """(method, path with a NUL in each parameter) of every page and form: all need a session."""
    return [(method, re.sub(r"\{[^}]+\}", "x%00", route.path))
            for route in views.router.routes if isinstance(route, APIRoute)
            for method in sorted(route.methods)]


def _signs_in(response: httpx.Response) -> None:
    assert response.status_code == 303, (response.request.url, response.text[:300])
    assert response.headers["location"] == "/signin"


@pytest.mark.parametrize("body", list(BODIES))
@pytest.mark.parametrize("path", ["/plans", "/plans/p-1/approve", "/plans/p-1/reject",
                                  "/plans/p-1/revise", "/plans/p-1/run", "/ledger/verify"])
def test_an_anonymous_form_is_sent_to_sign_in_whatever_its_body(live, path, body):
    with httpx.Client(base_url=live.url, timeout=30, follow_redirects=False) as client:
        _signs_in(client.post(path, content=BODIES[body], headers=FORM))


@pytest.mark.parametrize("cookie", [None, "not-a-known-token"])
def test_every_page_and_form_sends_an_unsigned_browser_to_sign_in_first(live, cookie):
    routes = _routes()
    assert len(routes) >= 12
    cookies = {COOKIE: cookie} if cookie else {}
    with httpx.Client(base_url=live.url, timeout=30, follow_redirects=False,
                      cookies=cookies) as client:
        for method, path in routes:
            for query in ("", "?subject=%00&version=%00"):
                _signs_in(client.request(method, path + query, content=BODIES["nul"],
                                         headers=FORM))


def test_an_oversized_chunked_form_is_not_counted_for_an_anonymous_browser(live):
    # No declared length: without a session, none of it is read; with one, the limit holds.
    chunks = [b"goal=" + b"x" * 32768, b"x" * 32768]
    for cookie, status in ((b"", b"303"), (f"Cookie: {COOKIE}={token_of('alice')}\r\n".encode(),
                                          b"413")):
        request = (b"POST /plans HTTP/1.1\r\nHost: x\r\n" + cookie
                   + b"Content-Type: application/x-www-form-urlencoded\r\n"
                   + b"Transfer-Encoding: chunked\r\n\r\n"
                   + b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks)
                   + b"0\r\n\r\n")
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
            sock.sendall(request)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert received.startswith(b"HTTP/1.1 " + status), received[:200]


def test_a_signed_in_browser_still_has_its_body_judged(live):
    client, csrf = signed_in(live, "alice")
    nul = client.post("/plans", content=f"csrf={csrf}&goal=%00".encode(), headers=FORM)
    assert nul.status_code == 422 and "NUL characters" in nul.text
    big = client.post("/plans", content=b"csrf=x&goal=" + b"x" * LIMIT, headers=FORM)
    assert big.status_code == 413 and "<h1>Too large</h1>" in big.text
    path = client.get("/plans/p-1%00")
    assert path.status_code == 422


def test_while_the_settings_file_is_broken_a_session_learns_only_that(live, settings_file):
    client, csrf = signed_in(live, "alice")
    settings_file.write_text("[users.alice\nroles = ", encoding="utf-8")
    for body in (f"csrf={csrf}&goal=%00".encode(), b"goal=" + b"x" * LIMIT):
        response = client.post("/plans", content=body, headers=FORM, follow_redirects=False)
        assert response.status_code == 503 and "settings file" in response.text
        assert response.headers["content-type"].startswith("text/html")


def test_sign_in_and_out_are_not_behind_the_sign_in(live):
    with httpx.Client(base_url=live.url, timeout=30, follow_redirects=False) as client:
        assert client.get("/signin").status_code == 200
        assert client.post("/signin", content=BODIES["nul"], headers=FORM).status_code == 422
        assert client.get("/static/run.js").status_code == 200
