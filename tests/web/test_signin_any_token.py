"""Any valid token signs in, whatever its characters: the cookie holds it percent-encoded.

A hand-made token holding a character outside Latin-1 (its SHA-256 in the settings) was
refused with a 500: no header can carry it as it is. Cookies set before, holding a plain
ASCII token, keep their browsers signed in.
"""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services
from baton.settings import User, hash_token
from baton.web.session import COOKIE
from tests.api.live import make_settings, serve, token_of
from tests.web.test_web_forms import csrf_of, sign_in

TOKENS = {"zoe": "ключ-€-日本-token", "yan": "50%25-off%-token; a=b \"q\""}


@pytest.fixture
def server(tmp_path):
    settings = make_settings(tmp_path)
    users = {**settings.users, **{uid: User(id=uid, roles=("approver",),
                                            token_sha256=(hash_token(token),))
                                  for uid, token in TOKENS.items()}}
    live = serve(Services(settings.model_copy(update={"users": users})), worker_poll_s=None)
    yield live
    live.stop()


@pytest.mark.parametrize("user", sorted(TOKENS))
def test_a_token_of_any_characters_signs_in_and_its_forms_work(server, user):
    client = httpx.Client(base_url=server.url, follow_redirects=True, timeout=30)
    form = client.get("/signin")
    response = client.post("/signin", data={"csrf": csrf_of(form), "token": TOKENS[user]},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.isascii() and TOKENS[user] not in cookie
    page = client.get("/")
    assert page.status_code == 200 and f'data-testid="who">{user}<' in page.text
    signed_out = client.post("/signout", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert signed_out.status_code == 303 and COOKIE not in client.cookies


def test_a_cookie_holding_a_plain_token_keeps_its_browser_signed_in(server):
    _, signed = sign_in(server, "bob")
    assert signed.status_code == 200
    client = httpx.Client(base_url=server.url, timeout=30, cookies={COOKIE: token_of("bob")})
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="who">bob<' in page.text
