"""A trailing-slash redirect points at a path on this server, never at the Host header's.

The router's own redirect built an absolute URL from the request's Host header, so
``GET /runs/`` with ``Host: evil.example`` answered ``Location: http://evil.example/runs``:
a forged header (or a proxy passing one on) sent the client to another site.
"""

from __future__ import annotations

import httpx
import pytest

from tests.web.test_web_forms import signed_in

from .live import token_of

FORGED = {"Host": "evil.example"}


def _get(server, raw_path: str, **headers: str) -> httpx.Response:
    # An absolute URL with its raw path: a base URL would merge leading slashes.
    url = httpx.URL(server.url).copy_with(raw_path=raw_path.encode())
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        return client.get(url, headers={**FORGED, **headers})


@pytest.mark.parametrize(("path", "location"), [
    ("/api/v1/healthz/", "/api/v1/healthz"),  # public: no token needed
    ("/signin/", "/signin"),
    ("/signin///", "/signin"),  # every trailing slash goes, as before
    ("/signin/?flash=x&kind=info", "/signin?flash=x&kind=info"),  # the query is kept
])
def test_a_slash_redirect_is_relative_whatever_the_host_header(server, path, location):
    response = _get(server, path)
    assert response.status_code == 307
    assert response.headers["location"] == location


def test_an_api_route_redirects_relatively_for_a_caller_with_a_token(server):
    response = _get(server, "/api/v1/tools/", Authorization=f"Bearer {token_of('alice')}")
    assert response.status_code == 307
    assert response.headers["location"] == "/api/v1/tools"


def test_a_page_redirects_relatively_for_a_signed_in_browser(server):
    client, _ = signed_in(server, "alice")
    response = client.get("/runs/", headers=FORGED, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/runs"


def test_a_redirect_location_never_names_another_host(server):
    # A path the router would answer only without its slashes: never a scheme-relative
    # ("//host") or backslash ("/\\host", read as "//host" by browsers) location.
    for path in ("//evil.example/", "/\\evil.example/", "/%5Cevil.example/"):
        response = _get(server, path)
        location = response.headers.get("location", "")
        assert not location.startswith(("//", "/\\")) and "evil.example" not in location, path


def test_a_path_that_matches_no_route_either_way_is_still_404(server):
    assert _get(server, "/api/v1/healthz/nothing/").status_code in (401, 404)
    assert _get(server, "/no-such-page/").status_code == 404


def test_redirects_are_followed_to_the_route(server):
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=True) as client:
        assert client.get("/api/v1/healthz/").status_code == 200
        assert client.get("/signin/").url.path == "/signin"
