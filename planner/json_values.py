"""What a plan value must be so that it can be hashed, stored and sent: plain, finite, UTF-8 JSON.

Python data can hold more than JSON does. A lone surrogate (``"\\ud800"``) cannot be
encoded as UTF-8, a NUL cannot be stored in PostgreSQL's text, NaN and Infinity are not
JSON numbers, a non-string key cannot be sorted beside string keys, and arguments nested
hundreds of levels deep exceed the serialisers' limits. Each would pass the schema
checks and then crash the plan hash or the store, so the validator refuses them up
front.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from tools.redaction import CUT_MARK

MAX_ARG_DEPTH = 64  # levels of objects and lists inside one step's args; real tool calls use a handful

# PostgreSQL cannot store a NUL in text: refused where the problem can name its place.
NUL_FAULT = "holds a NUL character (\\0), which cannot be stored; remove it"

TOO_DEEP = (f"nested more than {MAX_ARG_DEPTH} levels deep (objects and lists inside 'args'); "
            "flatten the arguments")


def plain(value: Any) -> bool:
    """A fast yes for the leaves nearly every plan is made of: ASCII text, ints, booleans, null."""
    kind = type(value)
    return ((kind is str and value.isascii() and "\x00" not in value) or kind is int
            or kind is bool or value is None)


def scalar_fault(value: Any) -> str | None:
    """Why ``value`` (a leaf) cannot be part of a plan, or None when it can."""
    if isinstance(value, str):
        if not encodes_as_utf8(value):
            return (f"text {_shown(value)} is not valid Unicode (it holds a lone surrogate) and "
                    "cannot be stored as UTF-8; remove or replace that character")
        return f"text {_shown(value)} {NUL_FAULT}" if "\x00" in value else None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a JSON number; write a finite number or a string"
    return None


def key_fault(key: Any) -> str | None:
    """Why ``key`` cannot be an object key in a plan, or None when it can."""
    if not isinstance(key, str):
        return f"object keys must be strings, not {type(key).__name__} {_shown(key)}"
    if not encodes_as_utf8(key):
        return f"key {_shown(key)} is not valid Unicode (it holds a lone surrogate); rename it"
    return f"key {_shown(key)} {NUL_FAULT}" if "\x00" in key else None


def faults(value: Any, segments: tuple[Any, ...] = (),
           depth_left: int = MAX_ARG_DEPTH) -> Iterator[tuple[tuple[Any, ...], str]]:
    """``(segments, reason)`` for every key or leaf in ``value`` that a plan cannot hold.

    Stops descending past ``depth_left`` levels (reporting the cut), so it never recurses deeply.
    """
    if plain(value):
        return
    if isinstance(value, Mapping | list | tuple) and depth_left <= 0:
        yield segments, TOO_DEEP
    elif isinstance(value, Mapping):
        for key, item in value.items():
            reason = None if plain(key) else key_fault(key)
            if reason is not None:
                yield (*segments, _segment(key)), reason
            else:
                yield from faults(item, (*segments, key), depth_left - 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from faults(item, (*segments, index), depth_left - 1)
    else:
        reason = scalar_fault(value)
        if reason is not None:
            yield segments, reason


MAX_RECORD_DEPTH = MAX_ARG_DEPTH + 16  # a whole document: the plan, its steps and their args
CUT = "… (cut here: nested too deeply to record)"


def storable(value: Any, depth_left: int = MAX_RECORD_DEPTH) -> Any:
    """A copy of an invalid document that can be stored, hashed and shown: faults become marked text.

    An invalid plan is still recorded, verbatim where it can be; a lone surrogate is
    kept as its escape (``"\\ud800"``), a NUL as ``"\\x00"`` (PostgreSQL's text cannot
    hold one), NaN and Infinity as their names, keys as text.
    """
    if isinstance(value, Mapping | list | tuple) and depth_left <= 0:
        return CUT
    if isinstance(value, Mapping):
        return {storable(str(k) if not isinstance(k, str) else k): storable(v, depth_left - 1)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item, depth_left - 1) for item in value]
    if isinstance(value, str):
        if not encodes_as_utf8(value):
            value = value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value.replace("\x00", "\\x00") if "\x00" in value else value
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def encodes_as_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (no lone surrogate); ASCII is answered without a copy."""
    if text.isascii():  # nearly every string in a plan: no copy made
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _segment(key: Any) -> str:
    """A key as a path segment (``json_path`` quotes odd text with repr, which escapes surrogates)."""
    return key if isinstance(key, str) else str(key)


def _shown(value: Any) -> str:
    # Cut with the cut mark: a message is masked with every configured secret after it is
    # made, and a secret's start left before the mark is masked too.
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + CUT_MARK
