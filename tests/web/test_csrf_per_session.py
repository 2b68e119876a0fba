"""The pages' CSRF token is bound to the session, not to the API token alone.

It was the HMAC of the API token: the same in every session of that token, forever, so a
form (or a token) from a session signed out long ago still posted. A random value set in
a cookie at sign-in is now part of it: signing out and in again, or signing in from
another browser, gives another token, and an old form is refused (403, reload).
"""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services
from baton.web.session import COOKIE, SESSION_COOKIE
from tests.api.live import make_settings, serve, token_of
from tests.web.test_web_forms import csrf_of, signed_in


@pytest.fixture
def live(tmp_path):
    server = serve(Services(make_settings(tmp_path)), worker_poll_s=None)
    yield server
    server.stop()


def refused_as_stale(response: httpx.Response) -> bool:
    return response.status_code == 403 and "reload and try again" in response.text


def test_signing_out_and_in_again_invalidates_the_old_sessions_forms(live):
    client, old = signed_in(live, "bob")
    assert client.post("/signout", data={"csrf": old}).url.path == "/signin"
    client.post("/signin", data={"csrf": csrf_of(client.get("/signin")),
                                 "token": token_of("bob")})
    new = csrf_of(client.get("/"))
    assert new != old
    assert refused_as_stale(client.post("/signout", data={"csrf": old}, follow_redirects=False))
    assert client.post("/signout", data={"csrf": new}, follow_redirects=False).status_code == 303


def test_two_sessions_of_one_token_have_their_own_csrf_tokens(live):
    first, first_csrf = signed_in(live, "bob")
    second, second_csrf = signed_in(live, "bob")
    assert first_csrf != second_csrf
    assert refused_as_stale(second.post("/signout", data={"csrf": first_csrf},
                                        follow_redirects=False))
    assert csrf_of(first.get("/")) == first_csrf  # stable within its session


def test_a_session_cookie_from_before_sessions_had_their_own_value_gets_one(live):
    # Signed in before this change: the cookie holds the token alone. Its next page sets
    # the session's value, and that page's forms post.
    client = httpx.Client(base_url=live.url, timeout=30, cookies={COOKIE: token_of("bob")})
    page = client.get("/")
    assert page.status_code == 200 and client.cookies.get(SESSION_COOKIE)
    assert csrf_of(client.get("/")) == csrf_of(page)
    signed_out = client.post("/signout", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert signed_out.status_code == 303
    cleared = {value.split("=", 1)[0] for value in signed_out.headers.get_list("set-cookie")}
    assert cleared == {COOKIE, SESSION_COOKIE}
