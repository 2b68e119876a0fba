"""What a text sent as it is encodes: a JSON document, or a form's fields.

A body ``'{"password": "…"}'`` or ``password=…&user=bob`` is sent as written, and the service
reads what it encodes; :mod:`policies.step_strings` lists those keys and values for the secret
rules as well as the text itself. A text is read as a service reads it, not only as Python's
strict readers would: a form whose fields a ``parse_qsl`` reads, and JSON that Python's reader
refuses (a trailing comma, several documents one a line, an integer of more than 4,300
digits) or that passes the exact reading's bounds (longer than 64 KiB, nested deeper than 64)
read leniently, each string under its nearest key. No text that holds a string is left unread.
A text of lines (a raw CR or LF, which a form body never holds) is no form, and a text whose
opening bracket is not followed by what JSON holds there (markdown's ``[![``) no JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

# The exact reading's bounds: json.loads builds the whole document, and the scan recurses once
# per level. A longer or deeper text is read leniently (linear, and flat).
MAX_DECODED_TEXT = 64 * 1024
MAX_DECODED_DEPTH = 64
# At most this many strings are read from one text: past it, the step holds more strings than
# the scan reads (step_strings.MAX_STRINGS_SEEN_PER_STEP), so it is over the limit and denied,
# never judged on the part read.
MAX_STRINGS_READ = 50_001

# A byte order mark is no part of a JSON text to a service that skips it.
_BLANK_OR_BOM = " \t\r\n\ufeff"


def decoded_text(text: str) -> tuple[str, Any] | None:
    """What ``text`` encodes, else None: ``("JSON", document)`` for a JSON object or array
    within the bounds above, ``("lenient JSON", {name: value or [values]})`` for a JSON-looking
    text beyond them (:func:`lenient_json_strings`), ``("form", {name: value or [values]})``
    for a form's fields (:func:`form_fields`). A name written twice keeps every value, in a
    list: a service may read either."""
    if not may_encode(text):  # most texts stop here
        return None
    stripped = text.strip(_BLANK_OR_BOM)
    if stripped[:1] in ("{", "["):
        found = _json_document(stripped)
        if found is not None:
            return found
    fields = form_fields(stripped)
    return ("form", fields) if fields is not None else None


def may_encode(text: str) -> bool:
    """False when :func:`decoded_text` is None for ``text`` for sure: a cheap test first."""
    return "=" in text or text.lstrip(_BLANK_OR_BOM)[:1] in ("{", "[")


def _json_document(text: str) -> tuple[str, Any] | None:
    if len(text) <= MAX_DECODED_TEXT:
        try:
            document = json.loads(text, object_pairs_hook=_all_values)
        except (ValueError, RecursionError):
            pass  # read leniently below
        else:
            if _depth_within(document, MAX_DECODED_DEPTH):
                return "JSON", document
    if not _LOOKS_LIKE_JSON.match(text):
        return None  # markdown ("[![CI](…)]"), a template: text, not a JSON document
    strings = lenient_json_strings(text)
    return ("lenient JSON", strings) if strings else None


# What JSON can hold right after an opening bracket (a string, a bracket, a number, a
# literal): a text that Python's reader refuses is read leniently only when it starts so.
_LOOKS_LIKE_JSON = re.compile(r'[{\[][ \t\r\n]*["{}\[\]0-9tfn-]')


# A JSON token the lenient reading heeds: a string (its text, then its closing quote, if any:
# an unclosed one ends with the text), a bracket, or a colon. Anything else (numbers,
# literals, commas, stray text) is passed over.
_JSON_TOKEN = re.compile(r'"((?:[^"\\]+|\\.)*)("?)|[{}\[\]:]', re.DOTALL)
_COLON_NEXT = re.compile(r"[ \t\r\n]*:")


def lenient_json_strings(text: str) -> dict[str, Any]:
    """Every string of a JSON-looking ``text`` under its nearest key, as an exact reading pairs
    them (an array's strings under the array's key; a string outside any object under ""),
    each key listed, with "" when no string is under it: ``{name: value or [values]}``.

    One pass, linear in the text however it is nested or broken: an unclosed string ends at
    the end of the text, a stray bracket closes nothing, and several documents are read one
    after another. At most ``MAX_STRINGS_READ`` names and values are kept."""
    found: dict[str, list[str]] = {}
    kept = 0
    # The nearest key at each level of nesting: an object's last key, an array's own key.
    keys: list[str] = [""]
    position = 0
    while kept < MAX_STRINGS_READ:
        token = _JSON_TOKEN.search(text, position)
        if token is None:
            break
        position = token.end()
        if token.group(1) is None:  # a bracket or a colon
            mark = token.group()
            if mark in ("{", "["):
                keys.append("" if mark == "{" else keys[-1])
            elif mark != ":" and len(keys) > 1:
                keys.pop()
            continue
        string = _json_string(token.group(1), closed=bool(token.group(2)))
        colon = _COLON_NEXT.match(text, position)
        if colon is not None:  # a key
            position = colon.end()
            keys[-1] = string
            kept += string not in found
            found.setdefault(string, [])
        else:
            kept += 1 + (keys[-1] not in found)
            found.setdefault(keys[-1], []).append(string)
    return {name: values[0] if len(values) == 1 else values or ""
            for name, values in found.items()}


def _json_string(inner: str, *, closed: bool) -> str:
    # A string's text as JSON reads it; one JSON refuses (unclosed, a bad escape) as written.
    if closed:
        try:
            return json.loads(f'"{inner}"', strict=False)
        except ValueError:
            pass
    return inner


# Where a form's first name would have any of these, the text is no form: white space (a
# sentence, "x = 1"), or "/", "?" or "#" (a URL or a path, whose parameters are judged as a
# URL's: page_token is no credential there).
_NO_FORM_HEAD = re.compile(r"[\s/?#]")
# A form body never holds a raw line break (application/x-www-form-urlencoded writes %0A):
# a text of lines ("KEY=value" settings, CSV rows) is no form, its first value no longer
# swallowing every line after it.
_LINE_BREAK = re.compile(r"[\r\n]")
# A field with a name and an "=": a form has at least one.
_NAMED_FIELD = re.compile(r"(?:^|&)[^&=]+=")
_FIELD = re.compile(r"[^&]+")


def form_fields(text: str) -> dict[str, Any] | None:
    """The fields of a form text as ``parse_qsl(text, keep_blank_values=True)`` reads them
    (``{name: value or [values]}``: "+" and "%XX" decoded, a field without "=" a name with an
    empty value, an empty field skipped), else None: when no field has a name before an "="
    or the text before the first "=" holds white space, "/", "?" or "#", or the text holds a
    raw line break. At most ``MAX_STRINGS_READ`` fields are read."""
    equals = text.find("=")
    if (equals < 0 or _NO_FORM_HEAD.search(text, 0, equals) or _LINE_BREAK.search(text)
            or not _NAMED_FIELD.search(text)):
        return None
    pairs: list[tuple[str, str]] = []
    for count, field in enumerate(_FIELD.finditer(text)):
        if count == MAX_STRINGS_READ:
            break
        pairs.extend(parse_qsl(field.group(), keep_blank_values=True))
    return _all_values(pairs)


def _all_values(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    # An object of the pairs; a name given more than once holds the list of its values.
    found: dict[str, list[Any]] = {}
    for name, value in pairs:
        found.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in found.items()}


def _depth_within(document: Any, limit: int) -> bool:
    # Without recursion: the scan recurses once per level, and JSON nests as deep as it likes.
    level = [document]
    for _ in range(limit):
        level = [item for value in level if isinstance(value, Mapping | list)
                 for item in (value.values() if isinstance(value, Mapping) else value)]
        if not level:
            return True
    return False
