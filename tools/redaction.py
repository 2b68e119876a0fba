"""Masking secret values wherever they could leak: ledger payloads, step outputs, logs, error texts.

A secret is masked as written and however an echo escapes it, character by character, and
however many times it was escaped (JSON text inside JSON, a model's ``args_json``, a URL
percent-encoded again); lower- or upper-cased; read back with the wrong charset; as its
base64 or hex; and where a text was cut short (Baton's ``…``, pydantic's ``...``), the
secret's start before the cut and its end after it. A URL's own credentials are hidden by
:mod:`tools.url_credentials`.

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
from urllib.parse import quote, quote_plus

from .secret_variants import anchor, any_of, decoded_forms, encoded_forms

REDACTED = "[REDACTED]"


def redact(value: Any, secret_values: Iterable[str]) -> Any:
    """A copy of ``value`` where every string containing a secret value has it masked.

    Strings inside dicts, lists and tuples are masked too, dict keys included:
    in a tool's output or a payload, keys are data (a header name, a row id). Each
    secret is looked for as written and however it was escaped, each of its characters as
    itself or as any of its escapes (:func:`_char_forms`), escaped again any number of times
    (each backslash of an escape as a run of them), in any case; or lower- or upper-cased
    and as written, read back with the wrong charset, as its base64 or hex
    (:mod:`tools.secret_variants`); or cut short (:data:`CUT_MARKS`). A number holding a
    secret that reads as digits (a PIN in ``{"pin": 987654321}``) becomes the mark itself:
    :func:`number_holds`.
    """
    masker = _masker(secret_values if isinstance(secret_values, tuple)
                     else tuple(secret_values))
    if masker is None:
        return value
    return _redact(value, masker)


class _Form(NamedTuple):
    """One way to write a character (or a run of backslashes): its first character, a
    pattern for the rest, and the most text it takes (each backslash of an escape counted
    once: escaped again, it is a run of them, and every backslash is an escape's first
    character to :func:`_mask_escaped`, so the text looked at around them takes it in)."""

    lead: str
    rest: str
    width: int


# What every escape begins with: text holding none of them can hold a secret only as it is
# written (a space's "+" counts only when a secret holds a space).
ESCAPE_MARKS = ("\\", "&", "%")
# The leading zeros an HTML numeric entity is looked for with (PHP writes ' as &#039;):
# bounded, so that the text one match can take has a known length (_Masker.reach).
_ENTITY_ZEROS = 6
# Backslash escapes with a letter of their own: JSON's, C's and JavaScript's, Python's repr.
_SHORT_ESCAPES = {"\n": "n", "\t": "t", "\r": "r", "\b": "b", "\f": "f", "\v": "v",
                  '"': '"', "'": "'", "/": "/", "\\": "\\"}
# Escaped again, each backslash of an escape is escaped too: "\"" reads "\\\"" in JSON text
# inside JSON (a model's args_json), "\u00fc" reads "\\u00fc", a repr of that "\\\\u00fc".
# So each backslash of an escape may be a run of them, as long as the text makes it: the
# first matched as the escape's lead, then the rest of its run (possessive: what follows
# is a letter or a quote, never a backslash, so giving some back would only fail again).
_MORE_BACKSLASHES = r"\\*+"
_BACKSLASHES = r"\\++"
# How many times over a backslash of the secret itself is looked for doubled (JSON escaped
# two to six times: 4 to 64 backslashes each). Those are counted exactly, longest first:
# where the secret ends in a backslash, the backslashes of the escape after it are not its.
_DEEPEST_DOUBLING = 6
# How many times over a percent escape is looked for encoded again, each "%" as "%25" ("/" as
# "%252F"): a URL carried in another's query, as a sign-in redirect carries the one it came
# from, its ?code= already encoded. Bounded, so that the text one match can take has a known
# length (_Masker.reach): up to 5 levels, no wider than an HTML entity of an ASCII character.
_DEEPEST_PERCENT = 4
_PERCENT_AGAIN = f"(?:25){{0,{_DEEPEST_PERCENT}}}"


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
    escape of its UTF-8 bytes, encoded again up to :data:`_DEEPEST_PERCENT` times
    (``%252F``), a space also as ``+`` (and that encoded: ``%2B``). Any encoder escapes
    some of these (.NET's ``+`` as ``\\u002B``, Go's ``&`` as ``\\u0026``, an HTML page's
    ``&`` as ``&amp;``) and no list of encoders is complete, so every character may be any
    of them.
    Each backslash of an escape may be a run of them: text escaped again escapes it too.
    """
    point = ord(char)
    forms = []
    if char in _SHORT_ESCAPES and char != "\\":  # a backslash's own: _backslash_run_forms
        forms.append(_Form("\\", _MORE_BACKSLASHES + re.escape(_SHORT_ESCAPES[char]), 2))
    if point <= 0xFFFF:
        forms.append(_Form("\\", _MORE_BACKSLASHES + "u" + _hex(point, 4), 6))
    else:
        high, low = 0xD800 + ((point - 0x10000) >> 10), 0xDC00 + ((point - 0x10000) & 0x3FF)
        forms += [_Form("\\", f"{_MORE_BACKSLASHES}u{_hex(high, 4)}{_BACKSLASHES}u{_hex(low, 4)}",
                        12),
                  _Form("\\", _MORE_BACKSLASHES + "U" + _hex(point, 8), 10)]
    data = char.encode("utf-8", "surrogatepass")
    if point < 0x100:
        forms.append(_Form("\\", _MORE_BACKSLASHES + "x" + _hex(point, 2), 4))
    if point >= 0x80:
        forms.append(_Form("\\", _MORE_BACKSLASHES + _BACKSLASHES.join(
            "x" + _hex(byte, 2) for byte in data), 4 * len(data)))
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
        forms.append(_Form("%", "%".join(_PERCENT_AGAIN + _hex(byte, 2) for byte in encoded),
                           (3 + 2 * _DEEPEST_PERCENT) * len(encoded)))
    if char == " ":
        again = f"(?:25){{0,{_DEEPEST_PERCENT - 1}}}"
        forms += [_Form("+", "", 1), _Form("%", again + "2[bB]", 1 + 2 * _DEEPEST_PERCENT)]
    return (*forms, _Form(char, "", 1))


def _backslash_run_forms(length: int) -> tuple[_Form, ...]:
    """The ways to write ``length`` backslashes in a row: all doubled (JSON escaped two to
    ``_DEEPEST_DOUBLING`` times), each escaped once (``\\\\``, ``\\u005c`` or any other
    escape, ``\\u005c`` escaped again too), or all as they are.

    A run is one unit, not ``length`` characters each written either way: a backslash as
    it is is the first character of its own escape ``\\\\``, and a pattern choosing for each
    one would try every way of reading a long run of backslashes in the text (exponential
    in the run's length) before giving up. For the same reason a run doubled is doubled
    as a whole, never backslash by backslash.
    """
    escaped = (_Form("\\", r"\\", 2), *_char_forms("\\")[:-1])
    doubled = tuple(_Form("\\", f"\\\\{{{length * 2 ** times - 1}}}", length * 2 ** times)
                    for times in range(_DEEPEST_DOUBLING, 1, -1))
    one = "(?:" + "|".join(re.escape(form.lead) + form.rest for form in escaped) + ")"
    widest = max(form.width for form in escaped)
    more = f"{one}{{{length - 1}}}" if length > 1 else ""
    return (*doubled,
            *(_Form(form.lead, form.rest + more, form.width + widest * (length - 1))
              for form in escaped),
            _Form("\\", f"\\\\{{{length - 1}}}", length))


# In the first unit of a pattern, where a run of backslashes starts: an escape whose
# backslashes may be a run of them, looked for from every backslash of a long run, would
# read the rest of the run each time (quadratic in its length).
_AT_RUN_START = r"(?<!\\\\)"
# A secret's first backslashes as written, where a run of them ends: the run's last ones.
# Looked for at every backslash of a run, they would be followed by each backslash after
# them as the first of an escape of the secret's next character, read to the run's end.
_AT_RUN_END = r"(?!\\)"
# What many escapes begin with, written once for neighbours that share it (_either).
_SHARED_STARTS = (_AT_RUN_START, _MORE_BACKSLASHES)


def _first(forms: tuple[_Form, ...]) -> tuple[_Form, ...]:
    """``forms`` as the first unit of a pattern, where the regex engine tries it at every
    place of the text: each escape starts where a run of backslashes does, a run of
    backslashes as written ends where the text's does."""
    *escapes, written = forms
    if written.lead == "\\":
        written = _Form(written.lead, written.rest + _AT_RUN_END, written.width)
    return (*(_Form(form.lead, _AT_RUN_START + form.rest, form.width)
              if form.lead == "\\" else form for form in escapes), written)


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
    if len(unique) == 1:
        return unique[0]
    return "(?:" + "|".join(_shared_starts(unique)) + ")"


def _shared_starts(patterns: list[str]) -> list[str]:
    """``patterns`` in their order, each run of neighbours starting with the same
    :data:`_SHARED_STARTS` written once before the rest of each (the regex engine reads a
    run of backslashes once for all the escapes that may follow it, not once for each)."""
    merged: list[str] = []
    at = 0
    while at < len(patterns):
        start = next((s for s in _SHARED_STARTS if patterns[at].startswith(s)), None)
        end = at + 1
        while start and end < len(patterns) and patterns[end].startswith(start):
            end += 1
        if start is None or end - at == 1:
            merged.append(patterns[at])
        else:
            merged.append(start + _either([p[len(start):] for p in patterns[at:end]]))
        at = end
    return merged


class _Masker:
    """What masking a list of secrets needs, made once per list (:func:`_masker`)."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        # The secrets and what each reads as once a server decoded it with the wrong charset,
        # longest first: the pattern finds each as written or escaped, in any case.
        self.raw = _longest_first(form for secret in secrets for form in decoded_forms(secret))
        # Those as written, lower- and upper-cased too (a host name is read lower-cased).
        self.written = _longest_first(form for secret in self.raw
                                      for form in (secret, secret.lower(), secret.upper()))
        # Each secret's base64 and hex (encoded_forms): looked for as written only.
        self.encoded = _longest_first(form for secret in secrets
                                      for form in encoded_forms(secret))
        self.needles = _longest_first((*self.written, *self.encoded))
        self.shortest = len(self.needles[-1])
        # Empty unless a secret reads as a number's text: then, and only then, numbers are
        # looked at (the run loop masks every step's output; most outputs hold many numbers).
        self.numeric = tuple(secret for secret in secrets if is_number_text(secret))
        # A "+" begins an escape (a space's, in a query string) only if a secret holds a space.
        self.spaced = any(" " in secret for secret in self.raw)
        self.marks = ESCAPE_MARKS + (("+",) if self.spaced else ())
        self.reach = max(map(_width, self.written))  # the most text one match can take
        # The most text a secret's start, and an escape cut short after it, can take.
        self.cut_reach = self.reach + _PARTIAL_ESCAPE_WIDTH

    @functools.cached_property
    def held(self) -> re.Pattern[str]:
        """A piece of every needle case-folded, in one pattern (:meth:`may_hold`)."""
        return any_of(anchor(needle.casefold()) for needle in self.needles)

    def may_hold(self, text: str) -> bool:
        """Whether ``text`` may hold a secret as written, in another case, or its base64 or
        hex (never False where it does).

        One search for the tree of them all, not an ``in`` for each: ten secrets are some
        sixty texts to look for, and most strings an output holds are short. The text is
        case-folded, which maps each character on its own (no context, unlike ``lower``'s
        final sigma): a text holding a needle holds it case-folded.
        """
        return len(text) >= self.shortest and self.held.search(text.casefold()) is not None

    def holds_mark(self, text: str, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` holds the first character of an escape."""
        return any(text.find(mark, max(start, 0), end) != -1 for mark in self.marks)

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """Every secret, each character as itself or escaped, in one pattern: compiled when
        a text first holds an escape (some 10 ms for a 40-character secret), never for
        plain text.

        Where two secrets can start at the same place the longer is tried first, so that a
        secret containing another is masked whole. The alternatives are grouped by their
        first character (each secret's rest written once per group), so that every branch
        of the pattern starts with a plain character and the regex engine skips ahead to
        where one could start instead of trying every place of the text. Case is ignored
        (a secret lower- or upper-cased, and escaped), rather than a pattern three times as
        long to compile.
        """
        by_lead: dict[str, list[str]] = {}
        for secret in self.raw:
            first, *others = _units(secret)
            tail = "".join(_alternatives(forms) for forms in others)
            for lead, rests in _by_lead(_first(first)).items():
                by_lead.setdefault(lead, []).append(_either(rests) + tail)
        return re.compile("|".join(re.escape(lead) + _either(rests)
                                   for lead, rests in by_lead.items()), re.IGNORECASE)

    @functools.cached_property
    def cut_heads(self) -> tuple[re.Pattern[str], tuple[_CutHead, ...]]:
        """A pattern for the first characters of any secret (as many as a cut must leave for
        its start to be masked), and each secret's own, longest first. Made when a text first
        holds a cut mark with an escape before it."""
        heads, by_lead = [], {}
        for secret in self.written:
            units = _units(secret)
            needed = min(_MIN_CUT_START, len(units) - 1)
            if needed > 0:
                first, *others = units[:needed]
                first = _first(first)
                tail = "".join(_alternatives(forms) for forms in others)
                for lead, rests in _by_lead(first).items():
                    by_lead.setdefault(lead, []).append(_either(rests) + tail)
                heads.append(_CutHead(units, re.compile(_alternatives(first) + tail), needed,
                                      _width(secret) + _PARTIAL_ESCAPE_WIDTH))
        return (re.compile("|".join(re.escape(lead) + _either(rests)
                                    for lead, rests in by_lead.items())), tuple(heads))

    @functools.cached_property
    def cut_pieces(self) -> tuple[dict[int, dict[str, list[tuple[str, int]]]], ...]:
        """Each secret as written, by the characters a cut leaves of it next to the mark (as
        many as it must leave): the last of a start, ``{size: {piece: [(secret, its
        length)]}}``, and the first of an end, ``{size: {piece: [(secret, where it
        begins)]}}``. Looking a cut's neighbours up in those is what a text whose "..." are
        all ordinary costs."""
        starts: dict[int, dict[str, list[tuple[str, int]]]] = {}
        ends: dict[int, dict[str, list[tuple[str, int]]]] = {}
        for secret in self.written:
            size = min(_MIN_CUT_START, len(secret) - 1)
            for at in range(size, len(secret)) if size > 0 else ():
                starts.setdefault(size, {}).setdefault(secret[at - size:at], []).append(
                    (secret, at))
                begins = len(secret) - at
                ends.setdefault(size, {}).setdefault(secret[begins:begins + size], []).append(
                    (secret, begins))
        return starts, ends

    def cut_start(self, text: str, lowest: int, end: int, escaped: bool = True) -> int | None:
        """Where the start of a secret that ``text`` holds cut at ``end`` begins, if it
        does (the earliest such place, not before ``lowest``). Escapes are looked for only
        where ``text`` may hold one (``escaped``).

        Where the characters right before the cut are no escape (nor part of one), they are
        the secret's own as written: looked up (:attr:`cut_pieces`), and only a secret they
        end a piece of is looked for further back. Most texts holding "..." and an escape
        (JSON text of a log) hold no secret's characters before it.
        """
        if escaped and any(text.find(mark, max(end - _MIN_CUT_START - _AFTER_LAST_MARK[mark], 0),
                                     end) != -1 for mark in self.marks):
            return self._escaped_cut_start(text, lowest, end)
        found = None
        for size, pieces in self.cut_pieces[0].items():
            if end - size < lowest:
                continue
            for secret, length in pieces.get(text[end - size:end], ()):
                if escaped and self.holds_mark(text, end - self.cut_reach, end):
                    return self._escaped_cut_start(text, lowest, end)
                start = end - length
                if start >= lowest and (found is None or start < found) and text.startswith(
                        secret[:length], start):
                    found = start
        return found

    def _escaped_cut_start(self, text: str, lowest: int, end: int) -> int | None:
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

    @functools.cached_property
    def cut_tails(self) -> dict[str, list[tuple[tuple[tuple[_Form, ...], ...], int]]]:
        """Each secret's forms and where an end of it a cut may leave begins, by the
        character that end begins with, written as itself."""
        tails: dict[str, list[tuple[tuple[tuple[_Form, ...], ...], int]]] = {}
        for secret in self.written:
            units = _units(secret)
            needed = min(_MIN_CUT_START, len(units) - 1)
            for at in range(1, len(units) - needed + 1) if needed > 0 else ():
                tails.setdefault(units[at][-1].lead, []).append((units, at))
        return tails

    def cut_end(self, text: str, start: int, escaped: bool = True) -> int | None:
        """Where the end of a secret that ``text`` holds from ``start``, right after a cut
        mark, ends, if it does (the furthest such place). Escapes are looked for only where
        ``text`` may hold one (``escaped``).

        An end whose first character is escaped is not recognised: each character of a
        secret may begin an end, and each may be written in a dozen ways.
        """
        found = None
        if escaped and self.holds_mark(text, start, start + _MIN_CUT_START):
            # An escape among its first characters: read from each place of a secret that
            # holds the first character as written.
            for units, at in self.cut_tails.get(text[start:start + 1], ()):
                end = _read(text, start, units, at)
                if end is not None and (found is None or end > found):
                    found = end
            return found
        # Its first characters are as written: only a secret holding them is read on.
        more = escaped and self.holds_mark(text, start, start + self.reach)
        for size, pieces in self.cut_pieces[1].items():
            for secret, at in pieces.get(text[start:start + size], ()):
                if more:
                    end = _read(text, start, _units(secret), len(_UNITS.findall(secret[:at])))
                elif text.startswith(secret[at:], start):
                    end = start + len(secret) - at
                else:
                    end = None
                if end is not None and (found is None or end > found):
                    found = end
        return found


def _longest_first(texts: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(texts), key=len, reverse=True))


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
# Where pydantic cut an input it quotes in an error (``input_value='<first 24>...<last
# 23>'`` for one of 49 characters or more): a secret's start right before it is masked, and
# its end right after it. So are both of those at Baton's own mark (another tool's cut may
# keep a text's end).
PYDANTIC_CUT_MARK = "..."
CUT_MARKS = (CUT_MARK, PYDANTIC_CUT_MARK)
# The fewest characters of a secret's start masked before a cut mark, or of its end after
# one (all but one of a shorter secret's): fewer would mask ordinary words that a secret
# happens to start or end with ("wait...", "...and").
_MIN_CUT_START = 4
# The most text an escape, or what a cut leaves of one, holds after its last escape mark:
# "U0001F600", "25252525C3" (:data:`_DEEPEST_PERCENT`), HTML5's longest entity name
# "CounterClockwiseContourIntegral;". Characters that many after a mark are no escape's.
_AFTER_LAST_MARK = {"\\": 9, "%": 2 + 2 * _DEEPEST_PERCENT, "&": 32, "+": 0}
# What a cut can leave of an escape it went through: "\u00", "&#x", "%C3%A", "\xc3\xa".
# Each backslash of those may be a run of them (escaped again: "\\u00", "\\\"), each percent
# escape encoded again ("%25C3%252").
_PARTIAL_ESCAPE = re.compile(
    rf"(?:(?:%{_PERCENT_AGAIN}[0-9a-fA-F]{{2}}){{1,3}}|(?:\\+x[0-9a-fA-F]{{2}}){{1,3}}"
    r"|\\+u[dD][89abAB][0-9a-fA-F]{2})?"
    r"(?:\\+(?:[uU][0-9a-fA-F]{0,7}|x[0-9a-fA-F]?)?|&(?:#[xX]?[0-9a-fA-F]{0,7}|[A-Za-z]{1,31})?"
    rf"|%{_PERCENT_AGAIN}[0-9a-fA-F]?)?")
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


def _read(text: str, start: int, units: tuple[tuple[_Form, ...], ...], first: int) -> int | None:
    """Where ``units[first:]`` (a secret's end), as written or escaped from ``start`` in
    ``text``, end; None where the text holds no such end there."""
    at = start
    for index in range(first, len(units)):
        match = _unit_pattern(units[index]).match(text, at)
        if match is None:
            return None
        at = match.end()
    return at


@functools.lru_cache(maxsize=64)
def _masker(secret_values: tuple[str, ...]) -> _Masker | None:
    """The masker for ``secret_values``, or None where none is a secret: made once per list
    of secrets, not on every call (the run loop masks each step's output, error and ledger
    payloads with the same list)."""
    secrets = _longest_first(s for s in secret_values if s)
    return _Masker(secrets) if secrets else None


def _mask_text(text: str, masker: _Masker) -> str:
    """``text`` with every secret masked, as written or escaped, and the start or end of
    one that the text holds cut short (:data:`CUT_MARKS`).

    Looking for the secrets as written (one search for them all, :meth:`_Masker.may_hold`)
    is many times faster than running the pattern over the text: text holding no escape is
    searched for them only.
    """
    escaped = "\\" in text or "&" in text or "%" in text or masker.spaced and "+" in text
    if escaped:
        written = masker.may_hold(text)
        if written:
            text = _replace_each(text, masker.encoded)
        text = _mask_escaped(text, masker, written)
    elif masker.may_hold(text):
        text = _replace_each(text, masker.needles)
    if CUT_MARK in text or PYDANTIC_CUT_MARK in text:
        return _mask_cut(text, masker, escaped)
    return text


def _replace_each(text: str, needles: tuple[str, ...]) -> str:
    for needle in needles:  # longest first: one holding another is masked whole
        if needle in text:
            text = text.replace(needle, REDACTED)
    return text


def _mask_escaped(text: str, masker: _Masker, written: bool) -> str:
    """``text``, which holds an escape, with every secret masked, as written or escaped.

    The pattern runs only where an escape could make a secret, near each escape's first
    character (and over each secret found as written, in either case, where the text may
    hold one (``written``), so that a longer secret holding it is masked whole), or over
    the whole text where those are so many that they would cover it.
    """
    reach, size = masker.reach, len(text)
    if sum(text.count(mark) for mark in masker.marks) * 2 * reach >= size:
        return masker.pattern.sub(REDACTED, text)
    windows = [(at - reach, at + reach) for mark in masker.marks for at in _places(text, mark)]
    windows += [(at, at + len(secret)) for secret in masker.written if written
                for at in _places(text, secret)]
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


def _mask_cut(text: str, masker: _Masker, escaped: bool) -> str:
    """``text`` with the start of each secret cut short at a cut mark masked, and the end
    of each that goes on right after one (escapes looked for only where the text may hold
    one: ``escaped``)."""
    pieces: list[str] = []
    done = after_mark = 0
    marks: list[tuple[int, str]] = []
    for mark in CUT_MARKS:
        at = text.find(mark)
        while at != -1:
            marks.append((at, mark))
            at = text.find(mark, at + len(mark))
    marks.sort()
    for end, mark in marks:
        if end < done:  # inside the end of a secret just masked
            continue
        # Not before the previous mark: what was cut there goes on after it.
        start = masker.cut_start(text, max(after_mark, done), end, escaped)
        if start is not None:
            pieces += [text[done:start], REDACTED]
            done = end
        after_mark = end + len(mark)
        stop = masker.cut_end(text, after_mark, escaped)
        if stop is not None:
            pieces += [text[done:after_mark], REDACTED]
            done = stop
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
