"""Masking secret values wherever they could leak: ledger payloads, step outputs, logs, error texts.

URLs are shown with their credentials hidden (:func:`hide_url_credentials`), and the
passwords and tokens written into them, when long enough, count as secret values
(:func:`url_secrets`). Both read a URL's parameters as the policy rule against literal
credentials in URLs does (:func:`url_param_pieces`, :func:`param_readings`: names decoded
until stable, path and JDBC ``;name=`` parameters), so no URL it refuses is shown unmasked.

It lives in the lowest layer so that every layer (and ``baton --help``, which
must not import the database stack) can use it.
"""

from __future__ import annotations

import functools
import html.entities
import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple
from urllib.parse import (SplitResult, quote, quote_plus, unquote, unquote_to_bytes, urlsplit,
                          urlunsplit)

REDACTED = "[REDACTED]"


def redact(value: Any, secret_values: Iterable[str]) -> Any:
    """A copy of ``value`` where every string containing a secret value has it masked.

    Strings inside dicts, lists and tuples are masked too, dict keys included:
    in a tool's output or a payload, keys are data (a header name, a row id). Each
    secret is looked for as written and however it was escaped, each of its characters as
    itself or as any of its escapes (:func:`_char_forms`). A number holding a secret that
    reads as digits (a PIN in ``{"pin": 987654321}``) becomes the mark itself:
    :func:`number_holds`.
    """
    masker = _masker(secret_values if isinstance(secret_values, tuple)
                     else tuple(secret_values))
    if masker is None:
        return value
    return _redact(value, masker)


class _Form(NamedTuple):
    """One way to write a character (or a run of backslashes): its first character, a
    pattern for the rest, and the most text it takes."""

    lead: str
    rest: str
    width: int


# What every escape begins with: text holding none of them can hold a secret only as it is
# written (a space's "+" counts only when a secret holds a space).
_ESCAPE_MARKS = ("\\", "&", "%")
# The leading zeros an HTML numeric entity is looked for with (PHP writes ' as &#039;):
# bounded, so that the text one match can take has a known length (_Masker.reach).
_ENTITY_ZEROS = 6
# Backslash escapes with a letter of their own: JSON's, C's and JavaScript's, Python's repr.
_SHORT_ESCAPES = {"\n": "n", "\t": "t", "\r": "r", "\b": "b", "\f": "f", "\v": "v",
                  '"': '"', "'": "'", "/": "/", "\\": "\\"}


@functools.cache
def _named_entities() -> dict[str, tuple[str, ...]]:
    """Each character's HTML named entities (``&amp;``, ``&apos;``, ``&plus;``), as HTML5
    defines them; read once, when masking first needs them."""
    names: dict[str, list[str]] = {}
    for name, text in html.entities.html5.items():
        if name.endswith(";") and len(text) == 1:  # encoders always write the ";"
            names.setdefault(text, []).append(name)
    return {text: tuple(found) for text, found in names.items()}


def _hex(value: int, width: int) -> str:
    """A pattern for ``value`` in hex, at least ``width`` digits, each letter in either case."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


@functools.lru_cache(maxsize=4096)
def _char_forms(char: str) -> tuple[_Form, ...]:
    """Every way a character is written where it can be echoed, escapes before the character
    itself (so that ``&amp;`` ending a secret is masked whole): ``\\uXXXX`` (a surrogate pair
    above U+FFFF, or ``\\UXXXXXXXX``) and ``\\xXX`` (its UTF-8 bytes too, as a bytes repr
    writes them), in either case; a short backslash escape (``\\"``, ``\\/``, ``\\n``); an
    HTML named or numeric entity (``&#39;``, ``&#x27;``, leading zeros too); a percent
    escape of its UTF-8 bytes, a space also as ``+``. Any encoder escapes some of these
    (.NET's ``+`` as ``\\u002B``, Go's ``&`` as ``\\u0026``, an HTML page's ``&`` as
    ``&amp;``) and no list of encoders is complete, so every character may be any of them.
    """
    point = ord(char)
    forms = []
    if char in _SHORT_ESCAPES:
        forms.append(_Form("\\", re.escape(_SHORT_ESCAPES[char]), 2))
    if point <= 0xFFFF:
        forms.append(_Form("\\", "u" + _hex(point, 4), 6))
    else:
        high, low = 0xD800 + ((point - 0x10000) >> 10), 0xDC00 + ((point - 0x10000) & 0x3FF)
        forms += [_Form("\\", f"u{_hex(high, 4)}\\\\u{_hex(low, 4)}", 12),
                  _Form("\\", "U" + _hex(point, 8), 10)]
    data = char.encode("utf-8", "surrogatepass")
    if point < 0x100:
        forms.append(_Form("\\", "x" + _hex(point, 2), 4))
    if point >= 0x80:
        forms.append(_Form("\\", "\\\\".join("x" + _hex(byte, 2) for byte in data),
                           4 * len(data)))
    zeros = f"0{{0,{_ENTITY_ZEROS}}}"
    forms += [_Form("&", f"#{zeros}{point};", len(f"&#{point};") + _ENTITY_ZEROS),
              _Form("&", f"#[xX]{zeros}{_hex(point, 1)};", len(f"&#x{point:x};") + _ENTITY_ZEROS)]
    forms += [_Form("&", re.escape(name), len(name) + 1)
              for name in _named_entities().get(char, ())]
    try:
        encoded = char.encode("utf-8")
    except UnicodeEncodeError:
        pass  # a lone surrogate: no URL carries it
    else:
        forms.append(_Form("%", "%".join(_hex(byte, 2) for byte in encoded), 3 * len(encoded)))
    if char == " ":
        forms.append(_Form("+", "", 1))
    return (*forms, _Form(char, "", 1))


def _backslash_run_forms(length: int) -> tuple[_Form, ...]:
    """The ways to write ``length`` backslashes in a row: each escaped, or all as they are.

    A run is one unit, not ``length`` characters each written either way: a backslash as
    it is is the first character of its own escape ``\\\\``, and a pattern choosing for each
    one would try every way of reading a long run of backslashes in the text (exponential
    in the run's length) before giving up.
    """
    escaped = _char_forms("\\")[:-1]
    if length == 1:
        return _char_forms("\\")
    one = "(?:" + "|".join(re.escape(form.lead) + form.rest for form in escaped) + ")"
    widest = max(form.width for form in escaped)
    more = f"{one}{{{length - 1}}}"
    return (*(_Form(form.lead, form.rest + more, form.width + widest * (length - 1))
              for form in escaped),
            _Form("\\", f"\\\\{{{length - 1}}}", length))


_UNITS = re.compile(r"\\+|.", re.DOTALL)


@functools.lru_cache(maxsize=1024)
def _units(secret: str) -> tuple[tuple[_Form, ...], ...]:
    """The forms of each character of ``secret`` (of each run of backslashes)."""
    return tuple(_backslash_run_forms(len(unit)) if unit[0] == "\\" else _char_forms(unit)
                 for unit in _UNITS.findall(secret))


def _alternatives(forms: tuple[_Form, ...]) -> str:
    """A pattern for one of ``forms``, grouped by their first character (fewer branches for
    the regex engine to try and to compile)."""
    return "(?:" + "|".join(re.escape(lead) + _either(rests)
                            for lead, rests in _by_lead(forms).items()) + ")"


def _by_lead(forms: Iterable[_Form]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for form in forms:
        grouped.setdefault(form.lead, []).append(form.rest)
    return grouped


def _either(patterns: list[str]) -> str:
    unique = list(dict.fromkeys(patterns))
    return unique[0] if len(unique) == 1 else "(?:" + "|".join(unique) + ")"


class _Masker:
    """What masking a list of secrets needs, made once per list (:func:`_masker`)."""

    def __init__(self, raw: tuple[str, ...]) -> None:
        self.raw = raw  # the secrets, longest first
        # Empty unless a secret reads as a number's text: then, and only then, numbers are
        # looked at (the run loop masks every step's output; most outputs hold many numbers).
        self.numeric = tuple(secret for secret in raw if is_number_text(secret))
        # A "+" begins an escape (a space's, in a query string) only if a secret holds a space.
        self.spaced = any(" " in secret for secret in raw)
        self.marks = _ESCAPE_MARKS + (("+",) if self.spaced else ())
        self.reach = max(map(_width, raw))  # the most text one match can take

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """Every secret, each character as itself or escaped, in one pattern: compiled when
        a text first holds an escape (some 10 ms for a 40-character secret), never for
        plain text.

        Where two secrets can start at the same place the longer is tried first, so that a
        secret containing another is masked whole. The alternatives are grouped by their
        first character (each secret's rest written once per group), so that every branch
        of the pattern starts with a plain character and the regex engine skips ahead to
        where one could start instead of trying every place of the text.
        """
        by_lead: dict[str, list[str]] = {}
        for secret in self.raw:
            first, *others = _units(secret)
            tail = "".join(_alternatives(forms) for forms in others)
            for lead, rests in _by_lead(first).items():
                by_lead.setdefault(lead, []).append(_either(rests) + tail)
        return re.compile("|".join(re.escape(lead) + _either(rests)
                                   for lead, rests in by_lead.items()))

    @functools.cached_property
    def cut_heads(self) -> tuple[re.Pattern[str], tuple[_CutHead, ...]]:
        """A pattern for the first characters of any secret (as many as a cut must leave for
        its start to be masked), and each secret's own, longest first. Made when a text first
        holds the cut mark."""
        heads, by_lead = [], {}
        for secret in self.raw:
            units = _units(secret)
            needed = min(_MIN_CUT_START, len(units) - 1)
            if needed > 0:
                first, *others = units[:needed]
                tail = "".join(_alternatives(forms) for forms in others)
                for lead, rests in _by_lead(first).items():
                    by_lead.setdefault(lead, []).append(_either(rests) + tail)
                heads.append(_CutHead(units, re.compile(_alternatives(first) + tail), needed,
                                      _width(secret) + _PARTIAL_ESCAPE_WIDTH))
        return (re.compile("|".join(re.escape(lead) + _either(rests)
                                    for lead, rests in by_lead.items())), tuple(heads))

    def cut_start(self, text: str, lowest: int, end: int) -> int | None:
        """Where the start of a secret that ``text`` holds cut at ``end`` begins, if it
        does (the earliest such place, not before ``lowest``)."""
        any_head, heads = self.cut_heads
        if not heads:
            return None
        at = max(lowest, end - max(head.reach for head in heads))
        while (match := any_head.search(text, at, end)) is not None:
            start = match.start()
            if any(start >= end - head.reach and head.pattern.match(text, start, end)
                   and _reaches(text, start, end, head.units, head.needed) for head in heads):
                return start
            at = start + 1
        return None


class _CutHead(NamedTuple):
    """What finding one secret's start before a cut mark needs."""

    units: tuple[tuple[_Form, ...], ...]  # the secret's forms
    pattern: re.Pattern[str]  # its first characters
    needed: int  # how many those are
    reach: int  # the most text its start, and an escape cut short, can take


def _width(secret: str) -> int:
    """The most text ``secret`` takes, each character written its longest way."""
    return sum(max(form.width for form in forms) for forms in _units(secret))


# What a text cut short for display ends with (planner.arg_checks.shorten, an HTTP error's
# body excerpt): a secret's start right before it is masked, for the cut left the secret
# whole nowhere, and masking the whole text with every secret could not recognise it.
CUT_MARK = "…"
# The fewest characters of a secret's start masked before the cut mark (all but the last
# of a shorter secret): fewer would mask ordinary words that a secret happens to start with.
_MIN_CUT_START = 4
# What a cut can leave of an escape it went through: "\u00", "&#x", "%C3%A", "\xc3\xa".
_PARTIAL_ESCAPE = re.compile(
    r"(?:(?:%[0-9a-fA-F]{2}){1,3}|(?:\\x[0-9a-fA-F]{2}){1,3}|\\u[dD][89abAB][0-9a-fA-F]{2})?"
    r"(?:\\(?:[uU][0-9a-fA-F]{0,7}|x[0-9a-fA-F]?)?|&(?:#[xX]?[0-9a-fA-F]{0,7}|[A-Za-z]{1,31})?"
    r"|%[0-9a-fA-F]?)?")
_PARTIAL_ESCAPE_WIDTH = 48


@functools.lru_cache(maxsize=4096)
def _unit_pattern(forms: tuple[_Form, ...]) -> re.Pattern[str]:
    return re.compile(_alternatives(forms))


def _reaches(text: str, start: int, end: int, units: tuple[tuple[_Form, ...], ...],
             needed: int) -> bool:
    """Whether ``text[start:end]`` is the start of the secret written as ``units``: at least
    ``needed`` of its characters, as written or escaped, then maybe part of an escape.

    Read character by character (a pattern nesting one optional group a character would be
    too deep for the regex parser with a long secret, a private key's).
    """
    at = start
    for count, forms in enumerate(units):
        if at == end:
            return count >= needed
        match = _unit_pattern(forms).match(text, at, end)
        if match is None:
            return count >= needed and _PARTIAL_ESCAPE.fullmatch(text, at, end) is not None
        at = match.end()
    return False  # the whole secret, then more: not cut here


@functools.lru_cache(maxsize=64)
def _masker(secret_values: tuple[str, ...]) -> _Masker | None:
    """The masker for ``secret_values``, or None where none is a secret: made once per list
    of secrets, not on every call (the run loop masks each step's output, error and ledger
    payloads with the same list)."""
    raw = tuple(sorted({s for s in secret_values if s}, key=len, reverse=True))
    return _Masker(raw) if raw else None


def _mask_text(text: str, masker: _Masker) -> str:
    """``text`` with every secret masked, as written or escaped, and the start of one that
    the text holds cut short (:data:`CUT_MARK`).

    Looking for the secrets as written (``in``, ``str.find``) is many times faster than
    running the pattern over the text: text holding no escape is searched for them only.
    """
    if "\\" in text or "&" in text or "%" in text or masker.spaced and "+" in text:
        text = _mask_escaped(text, masker)
    else:
        for secret in masker.raw:
            if secret in text:
                text = text.replace(secret, REDACTED)
    return _mask_cut(text, masker) if CUT_MARK in text else text


def _mask_escaped(text: str, masker: _Masker) -> str:
    """``text``, which holds an escape, with every secret masked, as written or escaped.

    The pattern runs only where an escape could make a secret, near each escape's first
    character (and over each secret found as written, so that a longer secret holding it
    is masked whole), or over the whole text where those are so many that they would
    cover it.
    """
    reach, size = masker.reach, len(text)
    if sum(text.count(mark) for mark in masker.marks) * 2 * reach >= size:
        return masker.pattern.sub(REDACTED, text)
    windows = [(at - reach, at + reach) for mark in masker.marks for at in _places(text, mark)]
    windows += [(at, at + len(secret)) for secret in masker.raw for at in _places(text, secret)]
    merged: list[list[int]] = []
    for start, stop in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    pieces: list[str] = []
    done = 0
    for start, stop in merged:
        for match in masker.pattern.finditer(text, max(start, 0), min(stop, size)):
            pieces += [text[done:match.start()], REDACTED]
            done = match.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _mask_cut(text: str, masker: _Masker) -> str:
    """``text`` with the start of each secret cut short at the cut mark masked."""
    pieces: list[str] = []
    done = after_mark = 0
    for end in _places(text, CUT_MARK):
        # Not before the previous mark: what was cut there goes on after it.
        start = masker.cut_start(text, after_mark, end)
        if start is not None:
            pieces += [text[done:start], REDACTED]
            done = end
        after_mark = end + len(CUT_MARK)
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _places(text: str, part: str) -> Iterator[int]:
    """Where ``part`` starts in ``text``, each place not inside an earlier one."""
    at = text.find(part)
    while at != -1:
        yield at
        at = text.find(part, at + len(part))


# What a number's JSON text is made of (finite ones: NaN and Infinity are refused as
# outputs and never written as JSON).
_NUMBER_TEXT = re.compile(r"[0-9+\-.eE]+")


def is_number_text(secret: str) -> bool:
    """Whether ``secret`` is made only of what a number's JSON text is (digits, sign, point,
    exponent): whether a number can hold it (:func:`number_holds`)."""
    return _NUMBER_TEXT.fullmatch(secret) is not None


def number_holds(value: Any, secret: str) -> bool:
    """Whether ``value``, an int or a float (never a bool), holds ``secret``: its JSON text
    contains it (``987654321`` and ``1987654321.5`` hold ``987654321``), or it is the
    secret read as a number (``987654321`` holds ``0987654321``; a float too long to be
    written in full, ``9.876543210987654e+19``, holds the digits it was read from).

    A NaN or infinite float holds nothing: the output check refuses those as they are.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    try:
        text = json.dumps(value)
    except ValueError:  # an int too long for str(): not writable as JSON, so never stored
        return False
    return secret in text or value == _number_value(secret)


@functools.lru_cache(maxsize=1024)
def _number_value(secret: str) -> float | None:
    # The secret read as a number, if it reads as a finite one ("1e999" reads as infinity).
    try:
        number = float(secret)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@functools.lru_cache(maxsize=1024)
def secret_forms(secret: str) -> tuple[str, ...]:
    """``secret`` as written and as it reads once escaped: the raw value first.

    A server echoing a secret back in JSON escapes it (``"`` and ``\\`` always, ``/`` as
    ``\\/`` in PHP's json_encode, non-ASCII as ``\\uXXXX``), and an error quoting a value
    as Python's repr (httpx's ``Illegal header value b'...\\n'``) escapes its control
    characters: none of those holds the secret's characters. A form equal to the raw value
    (any plain token) is listed once.

    The plan and template scans (planner.secret_literals) look for these. Masking finds each
    of them and more: any mixture of escapes, character by character (:func:`redact`).
    """
    forms = [secret]
    for ensure_ascii in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1]
        forms += [escaped, escaped.replace("/", "\\/")]
    forms.append(repr(secret)[1:-1])
    for encoding in ("utf-8", "latin-1"):
        try:
            forms.append(repr(secret.encode(encoding, "surrogatepass"))[2:-1])
        except UnicodeEncodeError:
            pass  # a value that no header can carry as latin-1 is never quoted so
    forms += _percent_encoded_forms(secret)
    return tuple(dict.fromkeys(forms))


_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _percent_encoded_forms(secret: str) -> list[str]:
    """``secret`` as a URL carries it: percent-encoded with ``/`` kept or not, a space as
    ``%20`` or ``+``, hex digits upper- or lower-case (``a/b c`` as ``a%2Fb%20c``,
    ``a/b+c``, ``a%2fb+c`` …): a token put in a query string or a path segment, or a server
    echoing the URL it was called at, holds none of the secret's own characters."""
    forms: list[str] = []
    for safe in ("", "/"):
        try:
            encoded = (quote(secret, safe=safe), quote_plus(secret, safe=safe))
        except UnicodeEncodeError:  # a lone surrogate: no URL can carry it
            return forms
        for form in encoded:
            forms += [form, _PERCENT_ESCAPE.sub(lambda m: m.group().lower(), form)]
    return forms


def _redact(value: Any, masker: _Masker) -> Any:
    if isinstance(value, str):
        return _mask_text(value, masker)
    if isinstance(value, dict):
        return {_redact(k, masker): _redact(v, masker) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, masker) for v in value]
    if masker.numeric and any(number_holds(value, secret) for secret in masker.numeric):
        return REDACTED
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

    Masking asks this (and the narrower :func:`is_credential_query_param`, which the
    policy rule against literal credentials in URLs asks: :func:`is_masked_param`). The
    name is judged percent-decoded however many times it was encoded.
    """
    normal = _HUMP.sub("_", percent_decoded(name)).lower().replace("-", "_")
    flat = normal.replace("_", "")
    return (flat in _FLAT_SECRET_PARAM_NAMES or normal.endswith(SECRET_PARAM_SUFFIXES)
            or flat.endswith(FLAT_SECRET_PARAM_SUFFIXES))


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

    A name ending in ``_id`` is an identifier's. In a bracketed name (``auth[token]``) the
    innermost part is judged too. The name is judged percent-decoded however many times it
    was encoded (``api%255Fkey``).
    """
    readable = percent_decoded(name)
    inner = readable.rstrip("]").rpartition("[")[2]
    return any(_is_credential_name(part) for part in dict.fromkeys((readable, inner)) if part)


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
    credentials reads these (policies.inputs) and so does masking (hide_url_credentials).
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
    user, colon, _ = userinfo.partition(":")
    userinfo = f"{user}:{HIDDEN}" if colon else HIDDEN if _user_is_token(parts) else user
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


def _user_is_token(parts: SplitResult) -> bool:
    # https://TOKEN@host is how many services take a token; postgresql://USER@host names a role.
    return parts.scheme.lower() in ("http", "https")
