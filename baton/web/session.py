"""Web sessions: the API token in an HttpOnly cookie, per-session CSRF tokens, signed flashes.

Every MAC is keyed by one random secret per server process and bound to the
browser: the session token once signed in, a random sign-in cookie before
(so a cross-site form cannot sign a browser in as someone else).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from baton.api.auth import services_of, user_for_token
from baton.settings import User

COOKIE = "baton_token"
SIGNIN_COOKIE = "baton_signin"
FLASH_KINDS = ("info", "error")


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler redirects to the sign-in page."""


def session_token(request: Request) -> str | None:
    """The API token stored in the sign-in cookie (``cookie_value``)."""
    from urllib.parse import unquote

    stored = request.cookies.get(COOKIE)
    # A cookie set before tokens were encoded holds a plain one: decoding leaves it as it is.
    return unquote(stored) if stored else None


def cookie_value(token: str) -> str:
    """``token`` as the sign-in cookie holds it: percent-encoded (UTF-8), so that a token of
    any characters fits a header (one outside Latin-1 made setting the cookie fail). A token
    ``secrets.token_urlsafe`` made is held as it is."""
    from urllib.parse import quote

    return quote(token, safe="")


def signed_in_user(request: Request) -> User:
    """The user of the cookie's token; ``SignInRequired`` without a valid one.

    Checked on every request against the users the settings file declares now: a token
    revoked there signs its browsers out at once (the cookie holds the token, not a session).
    """
    user = user_for_token(services_of(request), session_token(request))
    if user is None:
        raise SignInRequired()
    return user


def _secret(request: Request) -> bytes:
    state = request.app.state
    if not getattr(state, "csrf_secret", None):
        # One random key per server process: restarting invalidates open forms, nothing else.
        state.csrf_secret = secrets.token_bytes(32)
    return state.csrf_secret


def _mac(request: Request, *parts: str) -> str:
    message = "\0".join(parts).encode("utf-8")
    return hmac.new(_secret(request), message, hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The CSRF token bound to this session (HMAC of the session token)."""
    return _mac(request, session_token(request) or "")


def _same(expected: str, submitted: str | None) -> bool:
    """Whether ``submitted`` is ``expected``, compared in constant time as UTF-8 bytes: any
    other text is False (``compare_digest`` raises on two str when one is not ASCII)."""
    return bool(expected and submitted) and hmac.compare_digest(
        expected.encode("utf-8"), (submitted or "").encode("utf-8", errors="surrogatepass"))


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """True when ``submitted`` is this session's CSRF token."""
    return _same(csrf_token(request), submitted)


def new_signin_nonce() -> str:
    """A random value for the sign-in cookie, set by the sign-in page."""
    return secrets.token_urlsafe(24)


def signin_csrf_token(request: Request, nonce: str | None = None) -> str:
    """The sign-in form's CSRF token, bound to this browser's sign-in cookie ('' without one)."""
    nonce = nonce or request.cookies.get(SIGNIN_COOKIE) or ""
    return _mac(request, "signin", nonce) if nonce else ""


def signin_csrf_ok(request: Request, submitted: str | None) -> bool:
    """True when ``submitted`` is the token of the sign-in cookie this browser sent back."""
    return _same(signin_csrf_token(request), submitted)


def flash_signature(request: Request, text: str, kind: str) -> str:
    """The MAC that makes a flash message in a URL one this server issued to this session."""
    return _mac(request, "flash", session_token(request) or "", kind, text)


def verified_flash(request: Request) -> tuple[str | None, str]:
    """The flash message and kind of this URL when this server signed them for this session."""
    query = request.query_params
    text, kind, signature = query.get("flash"), query.get("kind", "info"), query.get("sig", "")
    if not text or kind not in FLASH_KINDS or not _same(
            flash_signature(request, text, kind), signature):
        return None, "info"  # anyone can write a link: unsigned text is not shown
    return text, kind
