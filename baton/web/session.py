"""Web sessions: the API token in an HttpOnly cookie, per-session CSRF tokens, signed flashes.

Every MAC is keyed by one key (:func:`web_key`) that every server of one database shares:
the ``web_secret`` setting, or unset, a random key kept in the data directory, so that a
page one server drew posts to another, and still works after a restart. Every MAC is bound
to the browser: once signed in, to the session token and the session's own random value
(a second cookie, set at sign-in: signing out and in again draws another, so the forms of
an earlier session no longer post); before, to a random sign-in cookie (so a cross-site
form cannot sign a browser in as someone else).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import tempfile
from pathlib import Path

import structlog
from fastapi import Request, Response

from baton.api.auth import services_of, user_for_token
from baton.settings import ConfigError, Settings, User

COOKIE = "baton_token"
# The session's random value: the API token is the same in every session, this is not.
SESSION_COOKIE = "baton_session"
SIGNIN_COOKIE = "baton_signin"
FLASH_KINDS = ("info", "error")
KEY_FILE = "web_secret.key"


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


def web_key(settings: Settings) -> bytes:
    """The key of every MAC of the pages: ``web_secret`` when set; else the random key kept
    in ``<data_dir>/web_secret.key``, made once (mode 0600) by the first server to start.

    One key per process made every page's forms fail on another server of the database, and
    on the same one once restarted. ConfigError when the kept key cannot be read or made; a
    warning when group or others may read or write it (it is still used).
    """
    if settings.web_secret is not None:
        return settings.web_secret.get_secret_value().encode("utf-8")
    path = settings.data_dir / KEY_FILE
    try:
        key = _read_key(path)
    except FileNotFoundError:
        try:
            _make_key(path)
        except OSError as exc:
            raise _key_error(path, f"cannot be made: {exc.strerror or exc}") from exc
        key = _read_key(path)
    _warn_if_shared(path)
    return key


def _warn_if_shared(path: Path) -> None:
    """Warn (never refuse: a group may share the data directory on purpose) when the key file
    read is open to group or others, who could then forge every form's token."""
    if os.name != "posix":
        return  # no permission bits to check
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if mode & 0o077:
        structlog.get_logger(__name__).warning(
            "the web pages' key file is open to others on this machine, who can forge the "
            f"pages' forms and sign-in with it: chmod 600 {path}, or set web_secret "
            "(BATON_WEB_SECRET)", path=str(path), mode=f"{mode:04o}")


def _make_key(path: Path) -> None:
    """Write a random key at ``path`` unless a server starting beside this one did first:
    written whole under another name, then linked, so that nobody reads half a key."""
    key = secrets.token_hex(32) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(key)
        os.link(staged, path)  # never over a key another server made meanwhile
    except FileExistsError:
        pass
    except OSError:  # a file system without links: made in place, by one server only
        _make_in_place(path, key)
    finally:
        os.unlink(staged)


def _make_in_place(path: Path, key: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key)


def _read_key(path: Path) -> bytes:
    """The key kept at ``path``; FileNotFoundError while there is none."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _key_error(path, f"cannot be read: {exc.strerror or exc}") from exc
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise _key_error(path, "is not a key Baton made; remove it, and a new one is made "
                               "at the next start (forms open in browsers then need a reload)")
    return bytes.fromhex(text)


def _key_error(path: Path, problem: str) -> ConfigError:
    return ConfigError(f"the web pages' key {path} {problem}; or set web_secret "
                       "(BATON_WEB_SECRET), the same on every server of the database")


def _secret(request: Request) -> bytes:
    # Read once, as the app was made (``install_web``).
    return request.app.state.web_key


def _mac(request: Request, *parts: str) -> str:
    message = "\0".join(parts).encode("utf-8")
    return hmac.new(_secret(request), message, hashlib.sha256).hexdigest()


def session_nonce(request: Request) -> str | None:
    """The session's random value, from its cookie (None: a session cookie set before
    sessions had one, or none)."""
    return request.cookies.get(SESSION_COOKIE) or None


def new_session_nonce() -> str:
    """A random value for a new session (set at sign-in, or on the first page of a session
    that has none)."""
    return secrets.token_urlsafe(24)


def keep_session_nonce(request: Request, response: Response, nonce: str) -> None:
    """Set the session's random value in the browser ``response`` goes to."""
    response.set_cookie(SESSION_COOKIE, nonce, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")


def csrf_token(request: Request, nonce: str | None = None) -> str:
    """The CSRF token bound to this session: HMAC of the session token and the session's
    random value (``nonce``, or its cookie's); '' without either."""
    token, nonce = session_token(request), nonce or session_nonce(request)
    return _mac(request, "csrf", token, nonce) if token and nonce else ""


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
    return _mac(request, "flash", session_token(request) or "", session_nonce(request) or "",
                kind, text)


def verified_flash(request: Request) -> tuple[str | None, str]:
    """The flash message and kind of this URL when this server signed them for this session."""
    query = request.query_params
    text, kind, signature = query.get("flash"), query.get("kind", "info"), query.get("sig", "")
    if not text or kind not in FLASH_KINDS or not _same(
            flash_signature(request, text, kind), signature):
        return None, "info"  # anyone can write a link: unsigned text is not shown
    return text, kind
