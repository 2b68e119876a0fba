"""A path that needs a token needs it however its slashes are written.

The token check matched only the route's exact path, so ``POST /api/v1/plans/`` (which the
router redirects to ``/api/v1/plans``) with a 2 MiB body and no token got 413 from the size
limit, not 401: how a body would be judged was told to a caller without any right to send it.
"""

from __future__ import annotations

import httpx
import pytest

from .live import token_of
from .test_api_basics import assert_error

OVERSIZED = b"x" * (64 * 1024 + 1)  # the test server's limit is 64 KiB
JSON = {"Content-Type": "application/json"}
VARIANTS = [
    "/api/v1/plans/",  # trailing slash: the router redirects it
    "/api/v1/plans///",  # several: the redirect strips them all
    "/api/v1//plans",  # doubled inside, as a proxy would merge them
    "//api/v1/plans",
    "/api/v1/plans/p-1/approve/",
    "/api/v1/plans/p-1//approve",
]


def _post(server, raw_path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    # An absolute URL with its raw path: a base URL would merge the leading slashes.
    url = httpx.URL(server.url).copy_with(raw_path=raw_path.encode())
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        return client.post(url, content=body, headers=headers)


@pytest.mark.parametrize("path", VARIANTS)
def test_an_oversized_body_to_a_slash_variant_without_a_token_is_401(server, path):
    response = _post(server, path, OVERSIZED, JSON)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/api/v1/tools/", "/api/v1/plans/p-1/", "//api/v1/tools"])
def test_a_get_of_a_slash_variant_without_a_token_is_401_not_a_redirect(server, path):
    url = httpx.URL(server.url).copy_with(raw_path=path.encode())
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        assert_error(client.get(url), 401, "unauthorized")


def test_with_a_valid_token_a_slash_variant_is_judged_as_before(server):
    headers = {**JSON, "Authorization": f"Bearer {token_of('alice')}"}
    assert_error(_post(server, "/api/v1/plans/", OVERSIZED, headers), 413, "body_too_large")
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        redirected = client.get(server.url + "/api/v1/tools/", headers=headers)
    assert redirected.status_code == 307
    assert redirected.headers["location"].endswith("/api/v1/tools")


def test_a_public_route_with_a_trailing_slash_needs_no_token(server):
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        assert client.get(server.url + "/api/v1/healthz/").status_code == 200
