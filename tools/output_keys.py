"""The key checks: what JSON cannot hold about the keys of a tool's output, as it writes them.

pydantic writes every key of a dict as JSON text, whatever its type: a number as its text,
``True`` as ``true``, ``None`` as ``None``, a tuple as its parts joined by commas, each part as
a key alone, an enum member as its value. So a key that is no text can still be one JSON
cannot hold (a NaN, an integer too long for text, text with a lone surrogate, a frozenset, an
enum member whose value holds it: :func:`key_fault`), two keys can be written as one text and
one of their values lost without a word (``7`` and ``"7"``: :func:`duplicate_key`), and a key
counts toward the output's size as its text does (:func:`key_size`, a lower bound). Keys'
parts are checked as values are, so the number and bytes checks (:func:`leaf_fault`) and an
integer's size (:func:`int_size`) live here too, and :mod:`tools.output_checks`, which walks
the whole output, uses them on its values; this module does not import it, so that no import
goes round. Values are read as :mod:`tools.output_kinds` says, by their type alone.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from typing import Any

from pydantic_core import to_jsonable_python

from .output_kinds import ENUM, ENUM_VALUE, INT, SIZED, kind_of

_BYTES = (bytes, bytearray)


def key_fault(key: Any, as_json: bool) -> tuple[str, str] | None:
    """What JSON cannot hold about a dict's key that is not text (and its error code), or None;
    with ``as_json``, about any key (see :func:`tools.output_checks.output_fault`).

    pydantic writes a number as its text (NaN as "nan", refused here), a tuple as its parts
    joined by commas, each part as a key alone, and an enum member as its value. Each tuple
    and member is looked into once; one whose value holds it is a cycle (pydantic-core
    recursed until the process crashed).
    """
    what = "a tuple key with a part" if issubclass(type(key), tuple) else "a key"
    done: set[int] = set()
    open_ids: set[int] = set()
    frames: list[tuple[int, Iterator[Any]]] = [(0, iter((key,)))]
    while frames:
        here, parts = frames[-1]
        for part in parts:
            kind = kind_of(type(part))[1]
            if kind is ENUM or issubclass(type(part), tuple):
                ident = id(part)
                if ident in open_ids:
                    return (f"has {what} that holds an enum member whose value holds it (a "
                            "cycle); JSON cannot hold a key that contains itself",
                            "tool_output_cyclic")
                if ident in done:
                    continue
                try:
                    inner = iter((ENUM_VALUE(part),)) if kind is ENUM else tuple.__iter__(part)
                except Exception:  # noqa: BLE001 - the dump raises it again, where it is reported
                    continue
                open_ids.add(ident)
                frames.append((ident, inner))
                break
            if (fault := leaf_fault(part, as_json)
                    or (_written_key_fault(part) if as_json else None)) is not None:
                return f"has {what} that {fault[0]}", fault[1]
        else:
            frames.pop()
            open_ids.discard(here)
            done.add(here)
    return None


def duplicate_key(keys: dict[Any, Any]) -> tuple[str, str] | None:
    """Two keys of ``keys`` that pydantic writes as the same JSON text (``7`` and ``"7"``,
    ``(1, 2)`` and ``"1,2"``, ``True`` and ``"true"``), or None: the dict written holds one of
    their values, the other lost without a word. A key whose text is not known here (one the
    JSON writing refuses) is left to the checks that name it."""
    seen: dict[str, Any] = {}
    for key in dict.__iter__(keys):
        text = _key_text(key)
        if text is None:
            continue
        first = seen.setdefault(text, key)
        if first is not key:
            return (f"has the keys {_shown(first)} and {_shown(key)}, both written as the JSON "
                    f"key {_shown(text)}: one of the two values would be lost; make the keys "
                    "distinct (text keys)", "tool_output_duplicate_key")
    return None


def _key_text(key: Any, members: tuple[int, ...] = ()) -> str | None:
    """The text pydantic writes a dict's key as, or None where it writes none (the JSON
    writing refuses it): a number as Python writes it, ``true``, ``None``, a tuple's parts
    joined by commas, an enum member as its value (``members``: the ids of those this key
    is inside, one whose value holds it is refused elsewhere); anything else as pydantic
    writes it alone."""
    of = type(key)
    if of is str:
        return key
    if of is bool:
        return "true" if key else "false"
    if key is None:
        return "None"
    try:
        if of is int:
            return int.__repr__(key)
        if of is float:
            return float.__repr__(key)
        if of is tuple:
            parts = [_key_text(part, members) for part in tuple.__iter__(key)]
            return None if None in parts else ",".join(parts)  # type: ignore[arg-type]
        if kind_of(of)[1] is ENUM:
            return None if id(key) in members else _key_text(ENUM_VALUE(key),
                                                              (*members, id(key)))
        return next(iter(to_jsonable_python({key: None})))
    except (ValueError, TypeError, RecursionError):  # too long, not finite, or no text
        return None


def _shown(key: Any) -> str:
    """A key in an error's text: its repr, its first 60 characters."""
    shown = repr(key)
    return shown if len(shown) <= 60 else shown[:60] + "…"


def _written_key_fault(part: Any) -> tuple[str, str] | None:
    """Why pydantic cannot write ``part`` (a key, or part of a tuple key) as JSON text, or None:
    text with a lone surrogate, a type it has no text for (a frozenset)."""
    if isinstance(part, str):
        if str.isascii(part):
            return None
        try:
            str.encode(part, "utf-8")
        except UnicodeEncodeError as exc:
            return (f"is text with a lone surrogate ({str.__getitem__(part, exc.start)!r} at "
                    f"offset {exc.start}), which UTF-8 cannot encode", "tool_output_not_utf8")
        return None
    if isinstance(part, _LEAVES):
        return None  # numbers as their text, bytes looked at by leaf_fault
    try:
        to_jsonable_python({part: None})
    except (ValueError, TypeError) as exc:
        return (f"is a {type(part).__name__}, which JSON cannot have as a key ({exc}); use "
                "text keys", "tool_output_bad_key")
    return None


_LEAVES = (str, *_BYTES, int, float, type(None))  # bool is an int


def key_size(key: Any, on_loop: bool, cap: float) -> int:
    """The fewest bytes ``key`` (a dict's key, not text) takes written as JSON, its quotes,
    colon and the comma after it included: a tuple as its parts joined by commas, an enum
    member as its value, as pydantic writes them; text and bytes by their length, an integer
    by its digits, any other part 1 byte. Each tuple and member is added up once, by id, and
    counts at each place it appears (a tuple shared at each of 40 levels: 2**40 parts); one
    inside itself counts 1 there (:func:`tools.output_checks.output_fault` names it). Stops
    once past ``cap``; -1 on the event loop at a part that is not plain (nothing of it read)."""
    sizes: dict[int, int] = {}  # the tuples and members added up: their size
    open_ids: set[int] = set()
    frames: list[tuple[int, Iterator[Any], int]] = []  # the open ones: id, parts, size so far
    here, parts, total, outer = 0, iter((key,)), 0, 0  # outer: the open ones' sizes, added
    while True:
        for part in parts:
            if outer + total > cap:
                return outer + total + 2
            _, kind, read, plain = kind_of(type(part))
            if on_loop and not plain:
                return -1
            if kind is SIZED or kind is INT:
                total += read(part) + 1 if kind is SIZED else int_size(part)  # type: ignore[misc]
                continue
            ident = id(part)
            if kind is ENUM:
                try:
                    inner: Iterator[Any] = iter((read(part),))  # type: ignore[misc]
                except Exception:  # noqa: BLE001 - the dump raises it again, where it is reported
                    inner = iter(())
            elif issubclass(type(part), tuple):  # (never asks the part: a type's own test)
                inner = tuple.__iter__(part)
            else:
                total += 2
                continue
            if ident in sizes or ident in open_ids:
                total += sizes.get(ident, 2)
                continue
            frames.append((here, parts, total))
            open_ids.add(ident)
            outer += total
            here, parts, total = ident, inner, 0
            break
        else:
            if not frames:
                return total + 2
            open_ids.discard(here)
            sizes[here] = size = total
            here, parts, total = frames.pop()
            outer -= total
            total += size


def int_size(value: int) -> int:
    """The fewest bytes an integer takes as JSON, and the comma after it: a digit holds at most
    3.33 bits (its length read with ``int``'s own method, whatever a subclass says)."""
    bits = int.bit_length(value)
    return (bits - 1) * 3 // 10 + 2 if bits > 1 else 2


def leaf_fault(value: Any, as_json: bool = False) -> tuple[str, str] | None:
    """What JSON cannot hold about a number, or with ``as_json`` bytes (and its error code),
    or None. Read with ``int``'s and ``bytes``' own methods, as pydantic writes them."""
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return (f"is {float.__repr__(value)}, not a finite number; JSON has no NaN or Infinity",
                "tool_output_not_finite")
    # An int of at most 3 bits per digit of the lowest limit Python allows has fewer digits
    # than any limit (a digit takes 3.32 bits): only longer ones are written out to see.
    if isinstance(value, int) and int.bit_length(value) > 3 * _MIN_INT_DIGITS_LIMIT:
        try:
            int.__repr__(value)
        except ValueError:  # longer than sys.get_int_max_str_digits(): json.dumps fails alike
            return (f"is an integer of more than {sys.get_int_max_str_digits()} digits, longer "
                    "than JSON text is written here; return it as a string",
                    "tool_output_int_too_long")
    elif as_json and isinstance(value, _BYTES):
        return _bytes_fault(value)
    return None


def _bytes_fault(value: bytes | bytearray) -> tuple[str, str] | None:
    """What JSON cannot hold about bytes written as text: the first byte that is not UTF-8."""
    base = bytes if isinstance(value, bytes) else bytearray
    if base.isascii(value):
        return None
    try:
        base.decode(value, "utf-8")
    except UnicodeDecodeError as exc:
        return (f"is bytes that are not UTF-8 (byte {base.__getitem__(value, exc.start):#04x} "
                f"at offset {exc.start}); JSON holds text, not bytes: return them as base64 "
                "text (base64.b64encode(data).decode())", "tool_output_not_utf8")
    return None


# The lowest limit sys.set_int_max_str_digits() accepts (0, no limit, aside).
_MIN_INT_DIGITS_LIMIT = 640
