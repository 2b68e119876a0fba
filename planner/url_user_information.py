"""Reading and hiding the user information written into URLs (``https://user:pw@host``).

User information is hidden as :func:`~tools.url_credentials.hide_url_credentials` shows it in
logs and listings: ``user:***@host``, and in an http(s) URL a user alone (how many services
take a token) as ``***@host``; a user name elsewhere (``postgresql://alice@db``) is kept. It is
found where the rules find it: as urlsplit reads the url argument, and in text as the secret
pattern for a password inside a URL reads it (:func:`hidden_passwords`: RE2's blanks, not
Python's, end it). A scheme-relative URL (``//user:pw@host``) is read as the http(s) URL a
client resolves it to. :mod:`planner.url_literals` masks with these.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from tools.url_credentials import HIDDEN, hide_url_credentials, scheme_start

MASK = HIDDEN

# Where a URL's authority (user information and host) ends: as urlsplit ends it, which the
# rule against user information reads the url argument with; in text also at white space,
# where the secret pattern for a password inside a URL ends it: RE2's \s, [\t\n\f\r ] (not
# U+00A0, U+2028 nor \x85), a form feed and the other control characters reaching the engines
# as U+FFFD (policies.long_strings.readable), which no \s matches.
_AUTHORITY_END = re.compile(r"[/?#]")
_AUTHORITY_END_IN_TEXT = re.compile(r"[/?#\t\n\r ]")
# What user information that cannot be read is hidden by: all but what the secret pattern for
# a password inside a URL reads it by ("scheme://USER:PASSWORD@", neither part blank).
_USER_INFORMATION_RUN = re.compile(r"[^:@\t\n\r ]+")
# The secret pattern for a password inside a URL (policies/rego/data.yaml), its \s read as the
# engines read it (above): a password is hidden wherever it finds one, from its first character
# to the last "@" before a "/" or a blank (where urlsplit would end it, "?" and "#" aside).
# The pattern is "[A-Za-z][A-Za-z0-9+.-]*://" and this: run from every position by Python's re
# (not RE2, linear), its scheme read a long run of letters again from each one, so the scheme
# is read back from each "://" (scheme_start) and this matched after it only.
_PASSWORD_AFTER_SCHEME = re.compile(r"[^/\t\n\r :@]+:([^/\t\n\r @]+)@")
_PASSWORD_END = re.compile(r"[/\t\n\r ]")
# A scheme-relative URL ("//user:pw@host/…"): a client resolves it against a page's scheme,
# http(s) as a rule, and the rule against user information reads it so in the url argument.
# In text, one after a blank, a quote, a bracket, "=" or ",": not the "//" of "https://".
_SCHEME_RELATIVE = re.compile(r"(?:^|(?<=[\s'\"(<\[=,]))//")
_RESOLVED_SCHEME = "https:"

# What urlsplit takes out of a URL before reading it.
_TAKEN_OUT = str.maketrans("", "", "\t\r\n")


def hide_user_information(text: str, *, whole: bool = True) -> str:
    """``text`` with the user information of each URL in it as
    :func:`~tools.url_credentials.hide_url_credentials` shows it (``user:***@``, ``***@``),
    the rest as written; a scheme-relative URL (``//user:pw@host``) read as an http(s) one.

    ``whole``: ``text`` is a URL as an HTTP client is given it (its authority ends where
    urlsplit ends it); otherwise free text (it ends at white space too).
    """
    if "@" not in text or "//" not in text:  # most texts stop here
        return text
    shown, end = [], len(text)
    for start, at in reversed(_user_information_spans(text, whole=whole)):
        shown += [text[at:end], _hidden_written(text[start:at])]
        end = start
    return text[:end] + "".join(reversed(shown))


def hidden_passwords(text: str) -> str:
    """``text`` with each password the secret pattern for a password inside a URL finds in it
    hidden (:func:`_password_starts`) where no other reading hid it: behind a blank Python
    reads as one and RE2 does not (``https://alice\\u00a0x:pw@``), after a "?" or "#"
    (``https://h?next=u:pw@x``) or past the end of a line (U+2028)."""
    if "://" not in text:  # most texts stop here
        return text
    shown, end = [], 0
    for start in _password_starts(text):
        if start < end:
            continue
        stop = _PASSWORD_END.search(text, start)
        at = text.rfind("@", start, stop.start() if stop else len(text))
        if text[start:at] != MASK:
            shown += [text[end:start], MASK]
            end = at
    return "".join(shown) + text[end:]


def _password_starts(text: str) -> Iterator[int]:
    """Where each password the secret pattern for a password inside a URL finds in ``text``
    starts, as its matches one after the other find them, in time linear in the text: each
    "://" is read once, its scheme back from it (the pattern's scheme holds no ":", so each
    start reaches one "://" only, and the first letter of the run before it starts the match).
    """
    position, after = text.find("://"), 0
    while position != -1:
        start = scheme_start(text, position)
        # A match ends with an "@", no scheme character: none starts before the last one ended.
        found = (_PASSWORD_AFTER_SCHEME.match(text, position + 3)
                 if start is not None and start >= after else None)
        if found:
            yield found.start(1)
            after = found.end()
            position = text.find("://", after)
        else:
            position = text.find("://", position + 1)


def _user_information(text: str, *, whole: bool) -> Iterator[tuple[int, int]]:
    """Where each URL in ``text`` with user information starts and where the "@" ending it
    is (``text[start:at]``: its scheme, "://" and user information; the last "@" of the
    authority, as urlsplit reads it). Every URL, not only the first: a URL inside a URL
    (``?next=https://u:pw@h``) is a password inside a URL to the secret patterns."""
    ends = _AUTHORITY_END if whole else _AUTHORITY_END_IN_TEXT
    position, after = text.find("://"), 0
    while position != -1:
        start = scheme_start(text, position)
        stop = ends.search(text, position + 3)
        at = text.rfind("@", position + 3, stop.start() if stop else len(text))
        if start is not None and start >= after and at != -1:
            yield start, at
            after = at + 1
        position = text.find("://", position + 3)


def _scheme_relative(text: str, *, whole: bool) -> Iterator[tuple[int, int]]:
    """Where each scheme-relative URL with user information in ``text`` starts (its "//") and
    where the "@" ending that is: the url argument's when it is one; in text, each that
    :data:`_SCHEME_RELATIVE` finds."""
    if whole:
        first = len(text) - len(text.lstrip())
        starts: Iterator[int] = iter([first] if text.startswith("//", first) else [])
    else:
        starts = (found.start() for found in _SCHEME_RELATIVE.finditer(text))
    ends = _AUTHORITY_END if whole else _AUTHORITY_END_IN_TEXT
    for start in starts:
        stop = ends.search(text, start + 2)
        at = text.rfind("@", start + 2, stop.start() if stop else len(text))
        if at != -1:
            yield start, at


def _user_information_spans(text: str, *, whole: bool) -> list[tuple[int, int]]:
    # Both kinds, in text order, none inside another.
    spans, after = [], 0
    for start, at in sorted([*_user_information(text, whole=whole),
                             *_scheme_relative(text, whole=whole)]):
        if start >= after:
            spans.append((start, at))
            after = at + 1
    return spans


def _hidden_written(url: str) -> str:
    # ``url`` (a scheme or "//", then user information) hidden; "//" read as http(s)'s.
    if url.startswith("//"):
        return _hidden_user_information(_RESOLVED_SCHEME + url)[len(_RESOLVED_SCHEME):]
    return _hidden_user_information(url)


def user_credentials(text: str, *, whole: bool) -> bool:
    """Whether a URL in ``text`` carries user information that is hidden when shown (a version
    stored before they were masked), or the mask in its place."""
    return "@" in text and any(
        MASK in text[start:at] or _hidden_written(text[start:at]) != text[start:at]
        for start, at in _user_information_spans(text, whole=whole))


def user_credentials_left(url: str) -> bool:
    """Whether ``url``, read as the rule against user information reads the url argument,
    still carries user information that is hidden when shown: urlsplit takes out tabs and
    line breaks first, and ``https:\\n//u:pw@host`` has no "://" to find it by. Then it is
    hidden whole: the refusal is lost, and the version stored invalid."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    userinfo, at, _ = parts.netloc.rpartition("@")
    written = f"{parts.scheme}://{userinfo}"
    return bool(at) and _hidden_user_information(written) != written


def _hidden_user_information(url: str) -> str:
    """``url`` (a scheme, "://" and user information, the "@" after it left out) as
    :func:`~tools.url_credentials.hide_url_credentials` shows it, the scheme as written.

    Where it cannot read the user information (urlsplit refuses ``u[:pw``), or hides it with
    the "@" (a credential's parameter written inside it: ``u;token=x``), all of it is hidden,
    each run between its colons, at signs and blanks as ``***`` (``***:***``), then shown as
    the rest (once: that reads): a password inside a URL to the secret patterns where it was.
    An empty password (``bob:@``) is kept: shown ``bob:***@``, it would read as one.
    """
    scheme, _, userinfo = url.partition("://")
    written = f"{url}@"
    try:
        urlsplit(written)
    except ValueError:  # hide_url_credentials shows it as written
        return _hidden_user_information(f"{scheme}://{_USER_INFORMATION_RUN.sub(MASK, userinfo)}")
    shown = hide_url_credentials(written).partition("://")[2]
    read = userinfo.translate(_TAKEN_OUT)
    if shown in (f"{read}@", f"{read}{MASK}@"):  # nothing hidden, or only an empty password
        return url
    if shown.endswith("@"):
        return f"{scheme}://{shown[:-1]}"
    return _hidden_user_information(f"{scheme}://{_USER_INFORMATION_RUN.sub(MASK, userinfo)}")


__all__ = ["MASK", "hide_user_information", "hidden_passwords", "user_credentials",
           "user_credentials_left"]
