"""A URL's credentials: which parameters hold them, hiding them, and counting them as secrets.

URLs are shown with their credentials hidden (:func:`hide_url_credentials`), and the
passwords and tokens written into them, when long enough, count as secret values
(:func:`url_secrets`). Both read a URL's parameters as the policy rule against literal
credentials in URLs does (:func:`url_param_pieces`, :func:`param_readings`: names decoded
until stable, path and JDBC ``;name=`` parameters), so no URL it refuses is shown unmasked.

It lives in the lowest layer, beside :mod:`tools.redaction`, so that every layer can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import SplitResult, unquote, unquote_to_bytes, urlsplit, urlunsplit


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


# How a URL is found in free text, by the policy rule and by what masks what it refuses: a
# scheme starting with a letter, "://", then the rest up to white space or a quote
# (URL_REST) or to the end of its line (LINE_REST, as str.splitlines ends one).
URL_REST = re.compile(r"[^\s\"'<>]+")
LINE_REST = re.compile("[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
# Where a parameter's value written in free text ends (a quoted URL, a shell word).
TEXT_VALUE_ENDS = " \t\"'<>"
TEXT_VALUE_END = re.compile(r"[\s\"'<>]")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")


def url_spans(text: str, rest: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Where each URL written in ``text`` starts and ends: the longest ``scheme://`` around
    each "://" (a scheme starts with a letter), then what ``rest`` matches after it.

    Linear in the text's length: a regular expression starting a scheme at every letter
    re-read a long run of letters before each "://" once per letter (80,000 took 6.7 s).
    """
    position = text.find("://")
    while position != -1:
        start = scheme_start(text, position)
        # Read on only after a scheme: reading the rest after each of many "://" is quadratic.
        found = rest.match(text, position + 3) if start is not None else None
        if start is not None and found:
            yield start, found.end()
            position = text.find("://", found.end())
        else:
            position = text.find("://", position + 1)


def scheme_start(text: str, position: int) -> int | None:
    """Where the scheme before the "://" at ``position`` starts: the longest run of scheme
    characters, from its first letter (None: there is no scheme)."""
    start = position
    while start > 0 and text[start - 1] in _SCHEME_CHARS:
        start -= 1
    while start < position and not (text[start].isascii() and text[start].isalpha()):
        start += 1
    return start if start < position else None
_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_secret_param(name: str) -> bool:
    """Whether a query parameter ``name`` is a credential's (``api_key``; not ``keyword``).

    Masking asks this (and the narrower :func:`is_credential_query_param`, which the
    policy rule against literal credentials in URLs asks: :func:`is_masked_param`). The
    name is judged percent-decoded however many times it was encoded.
    """
    return any(_is_secret_name(part) for part in name_parts(percent_decoded(name)))


def _is_secret_name(name: str) -> bool:
    normal = _HUMP.sub("_", name).lower().replace("-", "_")
    flat = normal.replace("_", "")
    return (flat in _FLAT_SECRET_PARAM_NAMES or normal.endswith(SECRET_PARAM_SUFFIXES)
            or flat.endswith(FLAT_SECRET_PARAM_SUFFIXES))


# The parts of a name written with brackets, as PHP and Rails read arrays and hashes:
# access_token[0], auth[api_key], a[b][c].
_BRACKETED = re.compile(r"\[([^\[\]]*)\]")


def name_parts(name: str) -> list[str]:
    """The parts of a parameter name that each may name a credential: the name itself, and
    when it has brackets the text before them and in each (``auth[api_key][0]``: ``auth``,
    ``api_key``, ``0``); an empty part left out. An index names nothing, nor does it hide the
    name it indexes."""
    start = name.find("[")
    if start == -1:
        return [name] if name else []
    parts = [name, name[:start], *_BRACKETED.findall(name, start)]
    return [part for part in dict.fromkeys(parts) if part]


# Decoding rounds done with the library's decoder before the byte-by-byte one: ordinary
# text is stable after one or two, and a name encoded deeper than this is rare but decoded
# all the same.
_FAST_DECODING_ROUNDS = 4
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def percent_decoded(text: str) -> str:
    """``text`` percent-decoded until nothing more decodes: ``api%255Fkey`` reads ``api_key``,
    however many layers between a caller and a service each decode it once more.

    Linear in the text's length: decoding round after round would take one pass per layer,
    and a name 40,000 layers deep (``api%2525…255Fkey``) fits in 80 KB.
    """
    if "%" not in text:
        return text
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(_FAST_DECODING_ROUNDS):
        decoded = unquote_to_bytes(data)
        if decoded == data:
            return data.decode("utf-8", "replace")
        data = decoded
    return _decoded_to_the_end(data).decode("utf-8", "replace")


def _decoded_to_the_end(data: bytes) -> bytes:
    # Decoding the last three bytes of the output whenever they read %XX reaches what decoding
    # until stable reaches (escapes never overlap, so the order does not matter): a decoded
    # byte forms a new escape only with the two bytes before it, checked here, or with those
    # after it, checked as they come. Each decoding shortens the output by two: linear.
    out = bytearray()
    for byte in data:
        out.append(byte)
        while (len(out) >= 3 and out[-3] == 0x25
               and out[-2] in _HEX_DIGITS and out[-1] in _HEX_DIGITS):
            value = int(out[-2:], 16)
            del out[-3:]
            out.append(value)
    return bytes(out)


# The credential names a URL must not carry literally (the policy rule in policies.step_strings
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
    # Session cookies that servlet containers and PHP also take in the URL
    # (;jsessionid=..., ?PHPSESSID=...): whoever holds one is logged in.
    "jsessionid", "phpsessid",
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
# ...nor an anti-forgery token's, as the common frameworks name them (written without
# separators; X-CSRF-Token and _csrf_token read as these): it proves that a form came from
# the site's own page and is checked against the session cookie it was issued with, so it
# authenticates nothing alone. Laravel's "_token" is one too but reads as "token", which is
# a credential's name elsewhere: it stays denied.
ANTI_FORGERY_TOKEN_NAMES = frozenset({
    "csrftoken", "xcsrftoken", "xsrftoken", "xxsrftoken",
    "csrfmiddlewaretoken",  # Django
    "authenticitytoken",  # Rails
    "requestverificationtoken",  # ASP.NET
})
_PARAM_WORD_SEPARATORS = re.compile(r"[^a-z0-9]+")


def is_credential_query_param(name: str) -> bool:
    """Whether a query parameter ``name`` is so surely a credential's that a literal value
    in a URL is refused (``api_key``, ``access_token``, ``sig``; not ``page_token``,
    ``sort_key``, ``user_id``).

    A name ending in ``_id`` is an identifier's. A name written with brackets is a
    credential's when any of its parts is (:func:`name_parts`: ``access_token[0]``,
    ``auth[token]``, ``a[b][api_key]``). The name is judged percent-decoded however many
    times it was encoded (``api%255Fkey``).
    """
    return any(_is_credential_name(part) for part in name_parts(percent_decoded(name)))


def _is_credential_name(name: str) -> bool:
    normal = _PARAM_WORD_SEPARATORS.sub("_", _HUMP.sub("_", name).lower()).strip("_")
    flat = normal.replace("_", "")
    # Before the identifiers: jSessionId names a session cookie, not an id.
    if flat in _FLAT_CREDENTIAL_QUERY_PARAM_NAMES:
        return True
    if normal.endswith(("_id", "_ids")) or flat in ANTI_FORGERY_TOKEN_NAMES:
        return False
    if flat.endswith("token"):
        return not flat[:-len("token")].endswith(NOT_CREDENTIAL_TOKEN_PREFIXES)
    return flat.endswith(CREDENTIAL_QUERY_PARAM_FLAT_SUFFIXES)


# Query, fragment and path parameters are split where a server or a browser would split
# them ("#" only in decoded text, or in a fragment after its first).
PARAM_SEPARATOR = re.compile(r"[&;?#]")


class ParamPiece(NamedTuple):
    """One parameter's text as split from a URL, where it stands (``url[start:end]``) and
    the place a message may name; not ``named``: a path segment's own text."""

    start: int
    end: int
    text: str
    place: str
    named: bool


def url_param_pieces(url: str) -> Iterator[ParamPiece]:
    """Each parameter's text in ``url``: its query's and fragment's, and the path parameters
    (``/cart;jsessionid=…``, and those after the host that SQL Server's JDBC URLs carry:
    ``//db:1433;password=…``): in each segment, what follows the first separator.

    Split by hand, as urlsplit would: it refuses some malformed hosts, and a credential in a
    URL that would not parse is still written into it. The policy rule against literal
    credentials reads these (policies.step_strings) and so does masking (hide_url_credentials).
    """
    hash_at = url.find("#")
    rest = url if hash_at == -1 else url[:hash_at]
    mark_at = rest.find("?")
    if mark_at != -1:
        yield from _pieces(url, mark_at + 1, len(rest), "query", named=True)
    if hash_at != -1:
        yield from _pieces(url, hash_at + 1, len(url), "fragment", named=True)
    path_end = len(rest) if mark_at == -1 else mark_at
    host_at = rest.find("://")
    start = host_at + 3 if host_at != -1 else 0
    for number, segment in enumerate(url[start:path_end].split("/")):
        place = f"path segment {number}" if number else "after the host"
        yield from _pieces(url, start, start + len(segment), place, named=False)
        start += len(segment) + 1


def _pieces(url: str, start: int, end: int, where: str, *, named: bool) -> Iterator[ParamPiece]:
    # A query's or fragment's pieces are all parameters; a path segment's but its first.
    position = 0
    for position, found in enumerate(PARAM_SEPARATOR.finditer(url, start, end), start=1):
        yield _piece(url, start, found.start(), where, position, named=named or position > 1)
        start = found.end()
    yield _piece(url, start, end, where, position + 1, named=named or position > 0)


def _piece(url: str, start: int, end: int, where: str, position: int, *, named: bool
           ) -> ParamPiece:
    place = (f"{where} parameter {position}" if where in ("query", "fragment")
             else f"parameter {where}" if where == "after the host" else f"parameter of {where}")
    return ParamPiece(start, end, url[start:end], place, named)


def param_readings(piece: str, *, named: bool) -> Iterator[tuple[str, str]]:
    """The ``(name, value)`` pairs a service could read in ``piece``, one parameter's text
    as split from a URL: as written (``named``), and percent-decoded until stable, then split
    again, for a proxy or a framework may decode before it splits: ``api_key%3D…``,
    ``q=a%26token%3D…`` and ``x%3Btoken%3D…`` each hide a token. Failing closed, a decoded
    separator counts even where the service would not split at it.

    A piece that is not ``named`` is a path segment's own text: only the parameters its
    decoded text reveals after a separator count.
    """
    if named:
        name, sep, value = piece.partition("=")
        if sep:
            yield name, value
    if "%" not in piece:  # nothing more to read
        return
    decoded = PARAM_SEPARATOR.split(percent_decoded(piece))
    for part in decoded if named else decoded[1:]:
        name, sep, value = part.partition("=")
        if sep:
            yield name, value


def is_masked_param(name: str) -> bool:
    """Whether a URL parameter's value is hidden wherever the URL is shown: a name masking
    takes for a credential's (:func:`is_secret_param`) or one the policy rule refuses a
    literal value for (:func:`is_credential_query_param`), so that no URL the rule refuses
    is ever shown unmasked."""
    return is_secret_param(name) or is_credential_query_param(name)


def _credential_values(piece: ParamPiece) -> list[str]:
    # The values of the credentials a service could read in the piece.
    return [value for name, value in param_readings(piece.text, named=piece.named)
            if value and is_masked_param(name)]


def url_secrets(url: str, *, min_length: int = MIN_GLOBAL_SECRET_LEN) -> list[str]:
    """The credentials ``url`` carries that are masked everywhere, as written and percent-decoded.

    They are the userinfo password (or, in an http(s) URL, a user-only token) and the
    values of credential-named parameters, read as the policy rule reads them
    (:func:`url_param_pieces`, :func:`param_readings`), when at least ``min_length``
    characters long (a caller masking only its own messages can take every one). A user
    name is never one.
    """
    found: list[str] = []
    parts = _split(url)
    userinfo = parts.netloc.rpartition("@")[0] if parts is not None else ""
    if userinfo:
        user, colon, password = userinfo.partition(":")
        found.append(password if colon else user if _user_is_token(parts) else "")
        if colon and _user_is_token(parts, password):
            found.append(user)
    found.extend(value for piece in url_param_pieces(url) for value in _credential_values(piece))
    return [v for raw in found if raw and len(percent_decoded(raw)) >= min_length
            for v in dict.fromkeys((raw, unquote(raw), percent_decoded(raw)))]


def hide_url_credentials(url: str) -> str:
    """``url`` for messages, logs and listings: each credential in it as ***, however short.

    A parameter is hidden wherever the policy rule would find it (encoded, in a path or
    after the host): the value after a name as written, or the whole piece when only its
    decoded text reads as a credential.
    """
    shown, end = [], len(url)
    for piece in reversed(list(url_param_pieces(url))):
        if _credential_values(piece):
            shown += [url[piece.end:end], _hidden_piece(piece)]
            end = piece.start
    url = url[:end] + "".join(reversed(shown))
    parts = _split(url)
    if parts is None:
        return url
    userinfo, at, host = parts.netloc.rpartition("@")
    if not userinfo:
        return url
    user, colon, password = userinfo.partition(":")
    if colon:
        user = HIDDEN if _user_is_token(parts, password) else user
        userinfo = f"{user}:{HIDDEN}"
    else:
        userinfo = HIDDEN if _user_is_token(parts) else user
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}"))


def _hidden_piece(piece: ParamPiece) -> str:
    # Its name kept where the name, however decoded, is one name: the rest could hold anything.
    name, sep, _ = piece.text.partition("=")
    if piece.named and sep and not PARAM_SEPARATOR.search(percent_decoded(name).replace("=", "&")):
        return f"{name}={HIDDEN}"
    return HIDDEN


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # an unparseable URL is shown as it is: it reaches nothing
        return None


# Passwords that say the user name is the credential: GitHub takes a token as
# https://TOKEN:x-oauth-basic@github.com.
_TOKEN_USER_PASSWORDS = frozenset({"x-oauth-basic"})


def _user_is_token(parts: SplitResult, password: str | None = None) -> bool:
    # https://TOKEN@host is how many services take a token; postgresql://USER@host names a role.
    # With a password, the user is a token only beside a password that says so.
    if parts.scheme.lower() not in ("http", "https"):
        return False
    return password is None or unquote(password).lower() in _TOKEN_USER_PASSWORDS


_SCHEME_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/{0,2}")


def hide_setting_url(url: str) -> str:
    """A URL setting for a configuration error: :func:`hide_url_credentials`, and, where no
    host can be read from it (a scheme forgotten or misspelt: ``svc:pw@host``,
    ``http:/svc:pw@host``), everything before its last "@" but the scheme hidden too: there
    the user information cannot be told from the rest, and a password must never be echoed.
    """
    shown = hide_url_credentials(url)
    if "@" not in shown:
        return shown
    try:
        if urlsplit(shown).hostname:  # its user information was found, and hidden
            return shown
    except ValueError:  # no host can be read at all (a bad port, a bracket): masked below
        pass
    before, _, after = shown.rpartition("@")
    scheme = _SCHEME_START.match(before)
    return f"{scheme.group(0) if scheme else ''}{HIDDEN}@{after}"
