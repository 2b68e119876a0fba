"""Web sessions: the API token in an HttpOnly cookie, and per-session CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from baton.api.auth import services_of, user_for_token
from baton.settings import User

COOKIE = "baton_token"


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler redirects to the sign-in page."""


def session_token(request: Request) -> str | None:
    """The API token stored in the sign-in cookie."""
    return request.cookies.get(COOKIE) or None


def signed_in_user(request: Request) -> User:
    """The user of the cookie's token; ``SignInRequired`` without a valid one."""
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


def csrf_token(request: Request) -> str:
    """The CSRF token bound to this session (HMAC of the session token)."""
    token = session_token(request) or ""
    return hmac.new(_secret(request), token.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """True when ``submitted`` is this session's CSRF token."""
    return bool(submitted) and hmac.compare_digest(csrf_token(request), submitted or "")
