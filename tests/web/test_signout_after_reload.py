"""A browser can always sign out, even after reloading once its token was revoked or the settings
file broke.

Pages rendered for nobody signed in carried no sign-out form and an empty CSRF token, and
sign-out needs this session's token: once the browser reloaded, nothing it could get signed
it out, its cookie stayed, and it was signed back in when the file was fixed or the token
restored.
"""

from __future__ import annotations

import re

import httpx

from baton.web.session import COOKIE
from tests.api.live import token_of
from tests.api.test_settings_file_reload import USERS, write_settings

from .test_web_forms import signed_in

BROKEN = "[users.alice\nroles = "


def signout_csrf(page: httpx.Response) -> str | None:
    """The CSRF token of the page's sign-out form (None: the page has none)."""
    found = re.search(r'action="/signout"><input type="hidden" name="csrf" value="([^"]*)"',
                      page.text)
    return found.group(1) if found else None


def clears_the_cookie(response: httpx.Response) -> bool:
    return any(re.match(rf'{COOKIE}="?"?;', value)
               for value in response.headers.get_list("set-cookie"))


def test_a_page_reloaded_while_the_settings_file_is_broken_signs_out(file_live, settings_file):
    client, _ = signed_in(file_live, "alice")
    settings_file.write_text(BROKEN, encoding="utf-8")
    page = client.get("/")  # the user reloads
    assert page.status_code == 503
    csrf = signout_csrf(page)
    assert csrf, page.text
    response = client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303 and clears_the_cookie(response)
    assert COOKIE not in client.cookies
    write_settings(settings_file, USERS)  # fixed: the browser stays signed out
    assert client.get("/", follow_redirects=False).headers["location"] == "/signin"


def test_the_sign_in_page_offers_sign_out_while_a_session_cannot_be_judged(file_live, settings_file):
    client, _ = signed_in(file_live, "alice")
    settings_file.write_text(BROKEN, encoding="utf-8")
    page = client.get("/signin")
    assert page.status_code == 200 and not clears_the_cookie(page)  # it may still be valid
    response = client.post("/signout", data={"csrf": signout_csrf(page)},
                           follow_redirects=False)
    assert response.status_code == 303 and COOKIE not in client.cookies


def test_a_revoked_token_s_cookie_is_cleared_on_the_way_to_sign_in(file_live, settings_file):
    client, _ = signed_in(file_live, "alice")
    write_settings(settings_file, USERS, tokens={"alice": []})
    page = client.get("/")  # the user reloads: sent to sign in
    assert page.url.path == "/signin" and signout_csrf(page) is None
    assert COOKIE not in client.cookies
    write_settings(settings_file, USERS)  # the token is restored: not signed back in
    assert client.get("/").url.path == "/signin"


def test_the_sign_in_page_clears_a_cookie_of_an_unknown_token(file_live):
    with httpx.Client(base_url=file_live.url, timeout=30,
                      cookies={COOKIE: "not-a-known-token"}) as client:
        page = client.get("/signin")
        assert page.status_code == 200 and clears_the_cookie(page)
        assert signout_csrf(page) is None


def test_a_request_without_the_cookie_never_clears_it(file_live):
    # A cross-site link arrives without the SameSite=Strict cookie: answering it with a
    # cleared cookie would sign the visitor out from another site.
    for path in ("/", "/signin", "/runs", "/no-such-page"):
        response = httpx.get(file_live.url + path, follow_redirects=False)
        assert not clears_the_cookie(response), path
        assert signout_csrf(response) is None, path


def test_a_valid_session_keeps_its_cookie_and_its_csrf_protection(file_live):
    client, csrf = signed_in(file_live, "alice")
    page = client.get("/signin")  # a signed-in browser opens the sign-in page
    assert not clears_the_cookie(page) and signout_csrf(page) == csrf
    assert client.get("/").url.path == "/"
    for forged in ("", "0" * 64):
        refused = client.post("/signout", data={"csrf": forged}, follow_redirects=False)
        assert refused.status_code == 403 and not clears_the_cookie(refused)
    assert client.get("/").url.path == "/"  # still signed in
    assert token_of("alice") == client.cookies[COOKIE]
