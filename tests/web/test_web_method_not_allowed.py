"""A page's 405 keeps the ``Allow`` header of the answer it is made from, as the API's does.

The web's error pages were rebuilt as HTML from the API's JSON answer and dropped its
headers: POST /runs, GET /signout and the rest answered 405 without saying which methods
the path takes.
"""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services
from baton.usecases.plans import plan_goal
from tests.api.live import make_settings, serve
from tests.web.test_web_forms import GOAL, signed_in


@pytest.fixture
def site(tmp_path):
    services = Services(make_settings(tmp_path))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    live = serve(services, worker_poll_s=None)
    yield live, stored
    live.stop()


def _allowed(header: str | None) -> set[str]:
    return {method.strip() for method in (header or "").split(",") if method.strip()}


def test_a_signed_in_pages_405_says_which_methods_it_takes(site):
    server, stored = site
    bob, _ = signed_in(server, "bob")
    for method, path, allowed in (("POST", "/runs", {"GET"}),
                                  ("GET", f"/plans/{stored.plan_id}/approve", {"POST"}),
                                  ("HEAD", "/", {"GET"}), ("HEAD", "/runs", {"GET"})):
        response = bob.request(method, path, follow_redirects=False)
        assert response.status_code == 405, (method, path)
        assert _allowed(response.headers.get("allow")) == allowed, (method, path)
        if method != "HEAD":
            assert "<html" in response.text


def test_the_sign_in_and_sign_out_405s_say_which_methods_they_take(site):
    server, _ = site
    for method, path, allowed in (("GET", "/signout", {"POST"}), ("PUT", "/signin",
                                                                 {"GET", "POST"})):
        response = httpx.request(method, server.url + path, timeout=30)
        assert response.status_code == 405, (method, path)
        assert _allowed(response.headers.get("allow")) == allowed, (method, path)
        assert "<html" in response.text


def test_a_page_keeps_the_headers_of_the_answer_it_is_made_from_but_its_own_type(site):
    server, _ = site
    page = httpx.get(server.url + "/signout", timeout=30)
    assert page.status_code == 405 and page.headers["allow"] == "POST"
    assert page.headers["content-type"].startswith("text/html")
    assert int(page.headers["content-length"]) == len(page.content)
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
