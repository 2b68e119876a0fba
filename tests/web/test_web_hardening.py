"""The web page against odd input and hostile pages: non-ASCII MACs, framing, the Host header,
sign-out whatever the token's state, and the ledger's links."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from baton.api import create_app
from baton.services import Services
from baton.usecases.plans import plan_goal
from baton.web.session import COOKIE
from executor.ledger import EventKind
from tests.api.live import make_settings, serve, token_of
from tests.api.test_settings_file_reload import USERS, write_settings

from .test_web_forms import GOAL, signed_in

FRAMING = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
           "referrer-policy": "same-origin"}


@pytest.fixture
def services(tmp_path):
    return Services(make_settings(tmp_path))


@pytest.fixture
def live(services):
    server = serve(services)
    yield server
    server.stop()


def assert_hardened(response: httpx.Response) -> None:
    """The framing, sniffing and referrer headers, and one CSP that forbids any framing."""
    for name, value in FRAMING.items():
        assert response.headers.get(name) == value, (response.url, name, response.headers)
    [policy] = response.headers.get_list("content-security-policy")
    assert "frame-ancestors 'none'" in policy
    assert policy.count("frame-ancestors") == 1


# --- non-ASCII MACs -----------------------------------------------------------------------


def test_a_non_ascii_flash_signature_is_ignored_not_a_crash(live):
    client, _ = signed_in(live, "bob")
    page = client.get("/", params={"flash": "hello", "sig": "é"})
    assert page.status_code == 200 and "hello" not in page.text
    anonymous = httpx.get(f"{live.url}/signin", params={"flash": "hello", "sig": "é"})
    assert anonymous.status_code == 200 and "hello" not in anonymous.text


def test_a_non_ascii_csrf_token_is_a_refused_form_not_a_crash(live):
    client, _ = signed_in(live, "bob")
    refused = client.post("/ledger/verify", data={"csrf": "é"})
    assert refused.status_code == 403 and "form expired" in refused.text
    anonymous = httpx.Client(base_url=live.url, timeout=30)
    anonymous.get("/signin")
    refused = anonymous.post("/signin", data={"csrf": "é", "token": token_of("bob")})
    assert refused.status_code == 403 and "expired" in refused.text
    assert COOKIE not in anonymous.cookies


# --- response headers ---------------------------------------------------------------------


def test_every_kind_of_response_forbids_framing_and_sniffing(live, services):
    client, _ = signed_in(live, "bob")
    api = httpx.Client(base_url=live.url, timeout=30,
                       headers={"Authorization": f"Bearer {token_of('bob')}"})
    for response in (client.get("/"), client.get("/signin"), client.get("/static/baton.css"),
                     client.get("/plans/p-00000000"),  # an error page
                     httpx.get(f"{live.url}/", follow_redirects=False),  # a redirect
                     api.get("/api/v1/plans"), api.get("/api/v1/health"),
                     httpx.get(f"{live.url}/api/v1/plans"),  # 401 from the middleware
                     httpx.get(f"{live.url}/docs")):
        assert_hardened(response)


def test_pages_get_a_policy_that_allows_only_this_origin(live):
    client, _ = signed_in(live, "bob")
    policy = client.get("/").headers["content-security-policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'",
                      "form-action 'self'"):
        assert directive in policy


def test_a_server_error_page_is_hardened_too(services):
    app = create_app(services)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    # Not entered: no lifespan, so no background worker to start and stop.
    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert_hardened(response)


def test_the_event_stream_still_streams_with_the_headers(live, services):
    from tests.support.run_lifecycle import failed_run

    failed_run(services, "r-failed00001")
    api = httpx.Client(base_url=live.url, timeout=30,
                       headers={"Authorization": f"Bearer {token_of('alice')}"})
    with api.stream("GET", "/api/v1/runs/r-failed00001/events") as stream:
        assert_hardened(stream)
        assert stream.headers["content-type"].startswith("text/event-stream")
        kinds = [line for line in stream.iter_lines() if line.startswith("event: ")]
    assert kinds == ["event: run_start", "event: run_end"]


# --- static files -------------------------------------------------------------------------


def test_stylesheet_and_script_urls_do_not_come_from_the_host_header(live, services):
    from tests.support.run_lifecycle import failed_run

    failed_run(services, "r-failed00001")
    client, _ = signed_in(live, "alice")
    forged = {"Host": "evil.example"}
    signin = httpx.get(f"{live.url}/signin", headers=forged)
    run = client.get("/runs/r-failed00001", headers=forged)
    for page in (signin, run):
        assert page.status_code == 200 and "evil.example" not in page.text
    assert 'href="/static/baton.css"' in signin.text
    assert 'src="/static/run.js"' in run.text


# --- sign-out -----------------------------------------------------------------------------


def signs_out(client: httpx.Client, csrf: str) -> None:
    response = client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert re.search(rf'{COOKIE}="?"?;', response.headers["set-cookie"]), response.headers
    assert COOKIE not in client.cookies


def test_sign_out_clears_the_cookie_of_a_valid_token(file_live):
    client, csrf = signed_in(file_live, "alice")
    signs_out(client, csrf)


def test_sign_out_clears_the_cookie_of_a_revoked_token(file_live, settings_file):
    client, csrf = signed_in(file_live, "alice")
    write_settings(settings_file, USERS, tokens={"alice": []})
    signs_out(client, csrf)


def test_sign_out_clears_the_cookie_while_the_settings_file_is_broken(file_live, settings_file):
    client, csrf = signed_in(file_live, "alice")
    settings_file.write_text("[users.alice\nroles = ", encoding="utf-8")
    signs_out(client, csrf)
    write_settings(settings_file, USERS)  # fixed: the browser is signed out, not back in
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"


def test_sign_out_still_needs_this_sessions_csrf_token(file_live):
    client, _ = signed_in(file_live, "alice")
    for token in ("", "é", "0" * 64):
        refused = client.post("/signout", data={"csrf": token}, follow_redirects=False)
        assert refused.status_code == 403
    assert client.get("/").url.path == "/"  # still signed in


# --- ledger links -------------------------------------------------------------------------


def test_the_ledger_links_plans_and_runs_but_not_templates(live, services):
    from tests.support.run_lifecycle import failed_run

    failed_run(services, "r-failed00001")
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    services.ledger.append(EventKind.TEMPLATE_SAVED, "template:weekly", "alice", {"name": "w"})
    client, _ = signed_in(live, "dave")
    page = client.get("/ledger").text
    assert 'href="/runs/r-failed00001"' in page
    assert f'href="/plans/{stored.plan_id}"' in page
    assert "template:weekly" in page and 'href="/plans/template:' not in page
    assert not re.search(r'href="[^"]*template:weekly', page)

