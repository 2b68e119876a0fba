"""Masking secret values wherever they could leak: ledger payloads, step outputs, logs, error texts.

URLs are shown with their credentials hidden (:func:`hide_url_credentials`), and the
passwords and tokens written into them, when long enough, count as secret values
(:func:`url_secrets`).

It lives in the lowest layer so that every layer (and ``baton --help``, which
must not import the database stack) can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

REDACTED = "[REDACTED]"


def redact(value: Any, secret_values: Iterable[str]) -> Any:
    """A copy of ``value`` where every string containing a secret value has it masked.

    Strings inside dicts, lists and tuples are masked too, dict keys included:
    in a tool's output or a payload, keys are data (a header name, a row id).
    """
    # Longest first, so a secret that contains another is masked whole.
    secrets = sorted({s for s in secret_values if s}, key=len, reverse=True)
    if not secrets:
        return value
    return _redact(value, secrets)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_redact(k, secrets): _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, secrets) for v in value]
    return value


# Query parameters whose values are credentials, matched as WHOLE names (lower-cased, with
# "-" and camelCase humps read as "_"): looking for "key" or "sig" inside a name took
# ?keyword=, ?monkey=, ?author= and ?design= for credentials and masked their ordinary
# values in every output of every run. A name also matches written without separators
# (?accesstoken=, ?privatekey=): the substring match caught those, and services use them.
SECRET_PARAM_NAMES = frozenset({
    "token", "access_token", "refresh_token", "id_token", "auth_token", "jwt",
    "key", "api_key", "x_api_key", "private_key", "secret_key", "access_key",
    "secret", "client_secret",
    "password", "passwd", "pwd", "sig", "signature",
    "x_amz_signature", "x_amz_credential", "x_amz_security_token",
    "x_goog_signature", "x_goog_credential",
    "credential", "credentials", "auth", "authorization",
    "session_id",  # not "session": ?session=spring-2025 names a term
})
_FLAT_SECRET_PARAM_NAMES = frozenset(name.replace("_", "") for name in SECRET_PARAM_NAMES)
# Names built on these are credentials too (github_token, private_key, db_password).
SECRET_PARAM_SUFFIXES = ("_token", "_key", "_secret", "_password")
# ...and on these without a separator (githubtoken, dbpassword). Not "key": monkey, turkey
# and hockey end in it.
FLAT_SECRET_PARAM_SUFFIXES = ("token", "secret", "password")
# What url_secrets lists is masked everywhere, in every tool output and every value passed
# on to a dependent step, and masking a short value ("pw") that widely corrupts ordinary
# text. A shorter credential is still hidden in the URL itself (hide_url_credentials).
MIN_GLOBAL_SECRET_LEN = 8
HIDDEN = "***"
_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_secret_param(name: str) -> bool:
    """Whether a query parameter ``name`` is a credential's (``api_key``; not ``keyword``).

    Masking asks this; the policy rule against literal credentials in URLs asks the
    narrower :func:`is_credential_query_param`.
    """
    normal = _HUMP.sub("_", unquote(name)).lower().replace("-", "_")
    flat = normal.replace("_", "")
    return (flat in _FLAT_SECRET_PARAM_NAMES or normal.endswith(SECRET_PARAM_SUFFIXES)
            or flat.endswith(FLAT_SECRET_PARAM_SUFFIXES))


# The credential names a URL must not carry literally (the policy rule in policies.inputs
# denies them), narrower than SECRET_PARAM_NAMES: a wrong mask hides an ordinary value, a
# wrong deny stops an ordinary plan. Names are read as for masking (lower-cased, "-" and
# camelCase humps as "_") and also matched written without separators (apikey, accesstoken).
CREDENTIAL_QUERY_PARAM_NAMES = frozenset({
    "token", "access_token", "auth_token", "id_token", "refresh_token", "session_token",
    "bearer_token", "oauth_token", "jwt",
    "key", "api_key", "x_api_key", "private_key", "secret_key", "access_key", "subscription_key",
    "secret", "client_secret", "password", "passwd", "pwd",
    "sig", "signature", "x_amz_signature", "x_amz_credential", "x_amz_security_token",
    "x_goog_signature", "x_goog_credential",
    "auth", "authorization", "credential", "credentials",
})
_FLAT_CREDENTIAL_QUERY_PARAM_NAMES = frozenset(
    name.replace("_", "") for name in CREDENTIAL_QUERY_PARAM_NAMES)
# Names ending so are credentials too (github_token, db_password, googleApiKey), written with
# or without separators. Not "key" nor "_key": sort_key, primary_key, partitionKey and
# idempotency_key are not credentials.
CREDENTIAL_QUERY_PARAM_FLAT_SUFFIXES = ("token", "secret", "password", "apikey")
# ...unless the name is a cursor's: page_token, nextToken, continuation_token are handed out
# by the API to page through results and grant nothing.
NOT_CREDENTIAL_TOKEN_PREFIXES = (
    "page", "next", "prev", "previous", "continuation", "continue", "cursor", "pagination",
    "sync", "delta", "skip", "resume", "start", "scroll")
_PARAM_WORD_SEPARATORS = re.compile(r"[^a-z0-9]+")


def is_credential_query_param(name: str) -> bool:
    """Whether a query parameter ``name`` is so surely a credential's that a literal value
    in a URL is refused (``api_key``, ``access_token``, ``sig``; not ``page_token``,
    ``sort_key``, ``user_id``).

    A name ending in ``_id`` is an identifier's. In a bracketed name (``auth[token]``) the
    innermost part is judged too.
    """
    readable = unquote(name)
    inner = readable.rstrip("]").rpartition("[")[2]
    return any(_is_credential_name(part) for part in dict.fromkeys((readable, inner)) if part)


def _is_credential_name(name: str) -> bool:
    normal = _PARAM_WORD_SEPARATORS.sub("_", _HUMP.sub("_", name).lower()).strip("_")
    if normal.endswith(("_id", "_ids")):
        return False
    flat = normal.replace("_", "")
    if flat in _FLAT_CREDENTIAL_QUERY_PARAM_NAMES:
        return True
    if flat.endswith("token"):
        return not flat[:-len("token")].endswith(NOT_CREDENTIAL_TOKEN_PREFIXES)
    return flat.endswith(CREDENTIAL_QUERY_PARAM_FLAT_SUFFIXES)


def url_secrets(url: str, *, min_length: int = MIN_GLOBAL_SECRET_LEN) -> list[str]:
    """The credentials ``url`` carries that are masked everywhere, as written and percent-decoded.

    They are the userinfo password (or, in an http(s) URL, a user-only token) and the
    values of credential-named query parameters, when at least ``min_length`` characters
    long (a caller masking only its own messages can take every one). A user name is never one.
    """
    parts = _split(url)
    if parts is None:
        return []
    found: list[str] = []
    userinfo, _, _ = parts.netloc.rpartition("@")
    if userinfo:
        user, colon, password = userinfo.partition(":")
        found.append(password if colon else user if _user_is_token(parts) else "")
    found.extend(value for name, value in _query_pairs(parts.query) if is_secret_param(name))
    return [v for raw in found if raw and len(unquote(raw)) >= min_length
            for v in dict.fromkeys((raw, unquote(raw)))]


def hide_url_credentials(url: str) -> str:
    """``url`` for messages, logs and listings: each credential in it as ***, however short."""
    parts = _split(url)
    if parts is None:
        return url
    userinfo, at, host = parts.netloc.rpartition("@")
    if userinfo:
        user, colon, _ = userinfo.partition(":")
        userinfo = f"{user}:{HIDDEN}" if colon else HIDDEN if _user_is_token(parts) else user
    query = "&".join(
        f"{name}={HIDDEN}" if sep and is_secret_param(name) and value else pair
        for pair in parts.query.split("&") if pair
        for name, sep, value in [pair.partition("=")]
    ) if parts.query else parts.query
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}", query=query))


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # an unparseable URL is shown as it is: it reaches nothing
        return None


def _user_is_token(parts: SplitResult) -> bool:
    # https://TOKEN@host is how many services take a token; postgresql://USER@host names a role.
    return parts.scheme.lower() in ("http", "https")


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return [(name, value) for pair in query.split("&")
            for name, sep, value in [pair.partition("=")] if sep]
