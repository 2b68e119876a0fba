"""The output checks: what in a tool's output no JSON can hold, or no check may write out.

Walked over the value a tool returned, before and after its output model reads it: its size as
JSON (sizes, shared values), generators and other iterators, coroutines never awaited, dict keys
(two written as one), nesting depth, numbers and bytes JSON cannot hold, and whether it is
light enough to be shaped on the event loop (no code of the tool's own, few bytes: see
:func:`light_fault`); each fault as ``(path, what is wrong, error code)``.
:class:`~tools.spec.ToolSpec` raises them as ``ToolError``. Values are read as
:mod:`tools.output_kinds` says, by their type alone; a dict's keys, and numbers and bytes, are
checked by :mod:`tools.output_keys`.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Iterator
from math import isfinite as _isfinite
from types import CoroutineType
from typing import Any

from pydantic import BaseModel, RootModel

from .output_keys import duplicate_key, int_size, key_fault, key_size, leaf_fault
from .output_kinds import (DATACLASS, DICT_ITEMS, ENUM, INDEXED, INT, ITERATOR, KEYED, LEAF,
                           LIST_ITER, MODEL, SIZED, kind_of)


# pydantic writes a deque, a set and a tuple as a list; a generator is left alone (it can be
# read only once, and the output's JSON is written from it after this walk).
_CONTAINERS = (dict, list, tuple, set, frozenset, collections.deque)


def holds_non_finite(value: Any) -> bool:
    """Whether ``value`` holds a NaN or infinite float anywhere.

    Each container is looked into once, however often it is referred to: a value that
    contains itself, or shares one list between many places, is walked to its end.
    """
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, _CONTAINERS):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


OUTPUT_MAX_JSON_BYTES = 1_000_000_000
"""The most bytes of JSON one output may take (``tool_output_too_large`` past it).

No setting bounds a whole output (``artifact_threshold_bytes`` only decides where one is kept;
the HTTP tools and ``files.read`` bound their own at 5 MiB), so this is fixed, and generous:
it is the most SQLite holds in one value by default (``SQLITE_MAX_LENGTH``) and about what
PostgreSQL holds in one field, so an output past it could not be kept as an artifact row
anyway, while writing it out takes gigabytes of memory. It is there to stop an output that
shares its values from being written out (2**60 items from 60 lists), not to cut real ones.
"""


def size_fault(value: Any, limit: int = OUTPUT_MAX_JSON_BYTES) -> tuple[str, str, str] | None:
    """What in ``value`` (a tool's output, before its model reads it) no check after this may
    write out, as ``(path, what is wrong, error code)``; None when there is nothing.

    A field whose JSON would take more than ``limit`` bytes (``tool_output_too_large``, see
    :func:`oversized`), or a generator or another iterator (``tool_output_iterator``): reading
    it is the only way to know what it holds, or whether it ends, and pydantic reads it whole
    (an endless one for ever), so it is refused rather than read here; a list is its JSON.
    A coroutine (``tool_output_coroutine``): an async def function called and never awaited.
    Reading ``value`` may run code of the tool's own (a computed field): call it where that
    may run, under the attempt's limit (see :func:`light_fault`).
    """
    return _fault(_sized(value, limit), limit)


LIGHT_OUTPUT_MAX_BYTES = 65_536
"""The most bytes of JSON :func:`light_fault` counts in an output shaped on the event loop.

Shaping takes time in proportion to the JSON written (a few microseconds a byte at most, an
output sharing one list at each of 20 levels took seconds); one past this is shaped in a
tool thread, under the attempt's limit, so that it never holds the run's other steps and
timers longer than a millisecond or so."""


def light_fault(value: Any, model: type[BaseModel],
                budget: int = LIGHT_OUTPUT_MAX_BYTES) -> tuple[bool, tuple[str, str, str] | None]:
    """Whether ``value`` (a tool's output, before ``model`` reads it) is light, and what in it
    no check may write out (see :func:`size_fault`), found without running code of the tool's
    own: for the event loop, where no code of the tool's own may run.

    Light: ``model`` and every value in ``value`` are plain (see :mod:`tools.output_kinds`:
    built-in values, models and dataclasses that run no code of the tool's own when read or
    written), and its JSON counts at most ``budget`` bytes, so that shaping it takes little
    time. The walk stops at the first value that is not plain, or once past ``budget`` (no
    more than about ``budget`` items are read): ``(False, None)`` then, and nothing is known
    of the rest; :func:`size_fault` reads it whole, where code of the tool's own may run.
    """
    if not kind_of(model)[3]:
        return False, None
    found = _sized(value, OUTPUT_MAX_JSON_BYTES, budget)
    if found is _HEAVY:
        return False, None
    return True, _fault(found, OUTPUT_MAX_JSON_BYTES)


def oversized(value: Any, limit: int = OUTPUT_MAX_JSON_BYTES) -> tuple[str, int] | None:
    """The innermost field of ``value`` (a tool's output, before its model reads it) whose JSON
    would take more than ``limit`` bytes, and that size; None when the whole fits.

    Nothing is written out: each container's size is added up once, from its items, and kept
    by id, so a container shared by several fields counts at each place it appears, as JSON
    writes it, for the cost of one look. The size is a lower bound, never more than the JSON
    written (a text or bytes count their length, an integer its fewest digits, any other
    scalar 1 byte), so an output is refused only when its JSON would surely be too large.
    Values are read as pydantic writes them, whatever a subclass of the tool's own says: a
    dict's, list's or tuple's own items, a text's or bytes' own length (read with ``dict``,
    ``list``, ``str``… methods, as pydantic reads them in C), a set or deque by its iteration.
    Output models and dataclasses count by their fields, as pydantic writes them (see
    :func:`_model_members`), an enum member as its value, a key that is no text as its text
    (see :func:`tools.output_keys.key_size`); what the tool returned counts whole, keys its
    output model would drop included. A container inside itself counts 1 there:
    :func:`output_fault` names it, as it names a container nested deeper than JSON is written
    to, whose members are not read. The walk stops at an iterator or a coroutine
    (:func:`size_fault` names it): None then.
    """
    found = _sized(value, limit)
    if found is None or found[1] is None or found[1] == _UNAWAITED:
        return None
    return found[0], found[1]


def _fault(found: tuple[str, int | None] | None, limit: int) -> tuple[str, str, str] | None:
    """The fault of what :func:`_sized` found: an iterator, or a field over ``limit``."""
    if found is None:
        return None
    path, size = found
    if size is None:
        return (path, "is a generator or another iterator, which an output cannot hold: what "
                "it holds is known only by reading it to its end; return a list of its items",
                "tool_output_iterator")
    if size == _UNAWAITED:
        return (path, "is a coroutine, never awaited: the tool returned an async def "
                "function's call without awaiting it (a plain def decorator around an async def "
                "tool does this); make the function, or the decorator's wrapper, async def and "
                "await the call", "tool_output_coroutine")
    return (path, f"would take at least {size:,} bytes as JSON, over the {limit:,} an output "
            "may take (a value shared by several fields is written out at each)",
            "tool_output_too_large")


_HEAVY = ("", -1)  # _sized stopped: a value not plain, or more than its budget counted
_UNAWAITED = -2  # the size _sized gives a coroutine it met (see _unawaited)

# An integer shorter than this counts 1 digit; a longer one (bit_length() > 53) its fewest.
_SHORT_INT = 2 ** 53


def _sized(value: Any, limit: int, budget: float = math.inf) -> tuple[str, int | None] | None:
    """The field :func:`oversized` answers and its size, or the first iterator met and None
    (the first coroutine: :data:`_UNAWAITED`); with a ``budget``, :data:`_HEAVY` at the first
    value that is not plain or once more than ``budget`` bytes are counted (see
    :func:`light_fault`)."""
    on_loop = budget != math.inf
    _, kind, read, plain = kind_of(type(value))
    if on_loop and not plain:
        return _HEAVY
    top = _read(value, kind, read)
    if top is None:
        if type(value) is CoroutineType:
            return _unawaited(value, "(the whole output)")
        return ("(the whole output)", None) if kind is ITERATOR else None
    sizes: dict[int, int] = {}  # the containers added up: their size
    open_ids = {id(value)}  # the containers on the path being walked
    # Each open container: its id, its members, whether they are keyed, and its key in its
    # parent (the path is joined from these only for the field refused).
    frames: list[tuple[int, Iterator[tuple[Any, Any]], bool, Any]] = [(id(value), *top, None)]
    # Each open container's size so far: its opening, then each item and its end (a value written
    # as its one member, an enum member or a root model, adds that member alone: _written_as).
    totals = [1 if top[1] is not None else -1]
    room = budget  # what the innermost container may add before the budget is spent
    while frames:
        here, members, keyed, _ = frames[-1]
        total = totals[-1]
        for key, child in members:
            if total > room:
                return _HEAVY
            if keyed:
                if type(key) is str:
                    total += len(key) + 3  # "key":
                else:
                    _, key_kind, key_read, key_plain = kind_of(type(key))
                    if on_loop and not key_plain:
                        return _HEAVY
                    if key_kind is SIZED:
                        total += key_read(key) + 3  # type: ignore[misc]
                    elif key_kind is INT:
                        total += int_size(key) + 2
                    elif key_kind is ENUM or key_kind is INDEXED:
                        if (size := key_size(key, on_loop, min(room, limit) - total)) < 0:
                            return _HEAVY
                        total += size
                    else:
                        total += 4
            of = type(child)
            if of is str:
                total += len(child) + 3
                continue
            if of is int:
                total += 2 if -_SHORT_INT < child < _SHORT_INT else int_size(child)
                continue
            if of is float or of is bool or child is None:
                total += 2
                continue
            if of is dict:
                kind, read = KEYED, DICT_ITEMS
            elif of is list:
                kind, read = INDEXED, LIST_ITER
            else:
                _, kind, read, plain = kind_of(of)
                if on_loop and not plain:
                    return _HEAVY
                if kind is SIZED:
                    total += read(child) + 3
                    continue
                if kind is INT:
                    total += int_size(child)
                    continue
                if kind is LEAF:
                    if of is CoroutineType:
                        path = [_segment(*frame[3]) for frame in frames[1:]]
                        return _unawaited(child, _joined([*path, _segment(key, keyed)]))
                    total += 2
                    continue
            ident = id(child)
            if ident in sizes:
                total += sizes[ident] + 1
            elif ident in open_ids:
                total += 2
            elif len(frames) > OUTPUT_MAX_DEPTH + 1:
                # Under a container already too deep to be written (output_fault refuses it
                # later): never written, so left unread (200,000 levels took seconds).
                total += 2
            elif kind is ITERATOR:
                path = [_segment(*frame[3]) for frame in frames[1:]]
                return _joined([*path, _segment(key, keyed)]), None
            elif (inner := (iter(read(child)), True) if kind is KEYED  # type: ignore[misc]
                  else _read(child, kind, read)) is None:
                total += 2  # a model its own model serializer writes, maybe smaller
            else:
                totals[-1] = total
                room -= total
                open_ids.add(ident)
                frames.append((ident, *inner, (key, keyed)))
                totals.append(1 if inner[1] is not None else -1)
                break
        else:
            if total > limit:
                path = [_segment(*frame[3]) for frame in frames[1:]]
                return _joined(path) or "(the whole output)", total
            frames.pop()
            totals.pop()
            open_ids.discard(here)
            sizes[here] = total
            if totals:
                room += totals[-1]
                totals[-1] += total + 1
            elif total > budget:
                return _HEAVY
    return None




def _read(value: Any, kind: int,
          read: Callable[[Any], Any] | None) -> tuple[Iterator[tuple[Any, Any]], bool] | None:
    """``(key, member)`` for what a value of ``kind`` holds as JSON writes it, and whether the
    keys are names (not indexes), None where the value is written as its one member (an enum
    member as its value, a root model as its root: see :func:`_written_as`); None for a scalar
    (and a model its own serializer writes, and an enum member whose value cannot be read)."""
    if kind is KEYED:
        return iter(read(value)), True  # type: ignore[misc]
    if kind is INDEXED:
        return enumerate(read(value)), False  # type: ignore[misc]
    if kind is ENUM:
        try:
            return _written_as(read(value))  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - the dump raises it again, where it is reported
            return None
    if kind is MODEL:
        return _model_members(value)
    if kind is DATACLASS:
        return iter([(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]), True
    return None


# The key of the one member a value is written as: no segment of a path.
_SAME = object()


def _written_as(value: Any) -> tuple[Iterator[tuple[Any, Any]], None]:
    """What :func:`_read` answers for a value pydantic writes another in place of: that one,
    read as any other (its size, what JSON cannot hold, whether it runs code of the tool's
    own), with no segment of its own in a path; a walk's open containers catch a value that
    leads back to it."""
    return iter(((_SAME, value),)), None


def _members(value: Any) -> tuple[Iterator[tuple[Any, Any]], bool | None] | None:
    """:func:`_read` of a value, whatever its type."""
    _, kind, read, _ = kind_of(type(value))
    return _read(value, kind, read)


def _model_members(model: BaseModel) -> tuple[Iterator[tuple[Any, Any]], bool] | None:
    """:func:`_members` of a model: its fields and computed fields as pydantic writes them.

    A field a plain serializer of the model writes in Python mode counts as a scalar (it may
    write it smaller), one a wrap serializer writes is written out by its handler all the
    same; a model a plain model serializer writes is a scalar. Those serializers' own results
    are not seen: the executor shapes an output that has them under the attempt's limit, in
    a tool thread, as it reads computed fields there (see :func:`light_fault`).
    """
    written = _self_written(type(model))
    if written is None:
        return None  # its plain model serializer writes it, maybe smaller: a scalar
    if isinstance(model, RootModel):  # written as its root alone
        return None if "root" in written else _written_as(model.root)
    fields = type(model).model_fields
    held = {**model.__dict__, **(model.__pydantic_extra__ or {})}
    # A field the dump leaves out, or may, adds nothing (the size must stay a lower bound);
    # one its serializer writes adds its key and a scalar.
    members = [(name, None if name in written else item) for name, item in held.items()
               if name not in fields or not (fields[name].exclude
                                             or getattr(fields[name], "exclude_if", None))]
    for name, info in type(model).model_computed_fields.items():
        if name in written or getattr(info, "exclude_if", None):
            members.append((name, None))
            continue
        try:
            members.append((name, getattr(model, name)))
        except Exception:  # noqa: BLE001 - the dump raises it again, where it is reported
            members.append((name, None))
    return iter(members), True


@functools.cache
def _self_written(model: type[BaseModel]) -> frozenset[str] | None:
    """The fields (computed ones too) a plain serializer of ``model`` writes in Python mode,
    where what it writes is not known here; None when a plain model serializer writes all."""
    decorators = model.__pydantic_decorators__
    if any(_plain_in_python(d.info) for d in decorators.model_serializers.values()):
        return None
    names: set[str] = set()
    for decorator in decorators.field_serializers.values():
        if _plain_in_python(decorator.info):
            fields = decorator.info.fields
            names.update([*model.model_fields, *model.model_computed_fields]
                         if "*" in fields else fields)
    return frozenset(names)


def _plain_in_python(info: Any) -> bool:
    """Whether a serializer replaces what it writes in Python mode (the mode the output is
    first dumped in); a wrap one's handler writes it out first, a JSON-only one is not used."""
    return info.mode == "plain" and info.when_used in ("always", "unless-none")


OUTPUT_MAX_DEPTH = 254
"""How deep lists and dicts may nest in an output, below its model (``tool_output_too_deep``).

pydantic writes no deeper as JSON (``Maximum serialization depth exceeded``): it counts the
values in fields typed ``Any``, this counts every level, typed ones too, so an output refused
for its depth would surely fail to be written, or nearly so.
"""


def output_fault(value: Any, *, as_json: bool = False,
                 models: bool = False) -> tuple[str, str, str] | None:
    """The first place in ``value`` (a dumped output) that JSON cannot hold, in field order, as
    ``(path, what is wrong, error code)``; None when there is none.

    A NaN or infinite float (``tool_output_not_finite``), an integer longer than Python writes
    as text (``tool_output_int_too_long``: ``sys.get_int_max_str_digits()``, 4,300 digits by
    default), either of them as a dict's key or part of a tuple key (named by the dict), two
    keys of a dict written as the same text (``tool_output_duplicate_key``: ``7`` and
    ``"7"``, one value would be lost), a container inside itself (``tool_output_cyclic``), or
    one nested more than :data:`OUTPUT_MAX_DEPTH` levels below ``value``
    (``tool_output_too_deep``). With ``as_json`` (writing the output as JSON failed), also
    bytes, or a key, that are not UTF-8 (``tool_output_not_utf8``: a lone surrogate in a key's
    text), and a key pydantic does not write as text (``tool_output_bad_key``: a frozenset).
    With ``models``, ``value`` is the output model itself (its dump failed): models and
    dataclasses are walked as their dicts. Containers, texts, bytes and integers are read with
    the built-in types' own methods, as pydantic writes them (see :func:`oversized`); an enum
    member as its value, a value or a key (a member whose value holds it is a cycle).
    Walked depth first with a stack, not recursion (a deeply nested output must not crash the
    check), each container entered once: one shared by several fields is no cycle and is not
    walked again. Paths are built only for the containers entered and the fault found.
    """
    fault = leaf_fault(value, as_json)
    top = _members(value) if models else _plain_members(value)  # type: ignore[misc]
    if fault is not None or top is None:
        return None if fault is None else ("(the whole output)", *fault)
    path: list[str] = []  # the segments leading to the container being walked
    open_at = {id(value): 0}  # the containers on that path: how many segments lead to each
    done: set[int] = set()
    # Each open container: its id, its children, whether they are keyed, and the dict whose
    # keys are still to be compared, once one of them is not text (None once they were).
    frames = [(id(value), *top, value if kind_of(type(value))[1] is KEYED else None)]
    while frames:
        here, children, keyed, keys = frames[-1]
        for key, child in children:
            if keyed and (as_json or type(key) is not str):
                fault = key_fault(key, as_json)
                if fault is None and keys is not None and type(key) is not str:
                    fault, keys = duplicate_key(keys), None
                    frames[-1] = (here, children, keyed, None)
                if fault is not None:
                    return (_joined(path) or "(the whole output)", *fault)
            of = type(child)
            if of is str or of is bool or child is None:
                continue
            if of is int:
                if -_SHORT_INT < child < _SHORT_INT:
                    continue
                kind = INT
            elif of is float:
                if _isfinite(child):
                    continue
                kind = LEAF
            elif of is dict:
                kind, inner = KEYED, (iter(child.items()), True)
            elif of is list:
                kind, inner = INDEXED, (enumerate(child), False)
            else:
                kind = kind_of(of)[1]
                inner = (_members(child) if kind is KEYED or kind is INDEXED or kind is ENUM or (
                    models and (kind is MODEL or kind is DATACLASS)) else None)
                if inner is None and (kind is MODEL or kind is DATACLASS or kind is ENUM):
                    continue  # a model its own serializer writes, or one walked as a leaf
            if (kind is KEYED or kind is INDEXED or kind is MODEL or kind is DATACLASS
                    or kind is ENUM):
                ident = id(child)
                if ident in open_at:
                    back = _joined(path[:open_at[ident]]) or "the whole output"
                    return (_joined([*path, _segment(key, keyed)]),
                            f"refers back to {back}, which contains it (a cycle); JSON cannot "
                            "hold an output that contains itself", "tool_output_cyclic")
                if ident in done:
                    continue
                path.append(_segment(key, keyed))
                if len(path) > OUTPUT_MAX_DEPTH:
                    return _too_deep(path)
                open_at[ident] = len(path)
                keys_of = child if kind is KEYED else None
                frames.append((ident, *inner, keys_of))  # type: ignore[misc]
                break
            if (kind is LEAF or kind is INT or (as_json and kind is SIZED)) and (
                    fault := leaf_fault(child, as_json)) is not None:
                return (_joined([*path, _segment(key, keyed)]), *fault)
        else:
            frames.pop()
            del open_at[here]
            done.add(here)
            if path:
                path.pop()
    return None


def _plain_members(value: Any) -> tuple[Iterator[tuple[Any, Any]], bool] | None:
    """``(key, child)`` for each child of a container (keys for a dict, indexes otherwise),
    and whether it is a dict; None for anything else (a dumped output holds no models)."""
    _, kind, read, _ = kind_of(type(value))
    return _read(value, kind, read) if kind is KEYED or kind is INDEXED else None


def _unawaited(coroutine: CoroutineType[Any, Any, Any], path: str) -> tuple[str, int]:
    """What :func:`_sized` gives for a coroutine at ``path``: a sync-looking tool that called an
    async def function and returned its coroutine (pydantic then said "input_value=<coroutine
    object ...>", and Python "was never awaited").

    It is closed, as it will never be awaited, to spare that warning: one not started yet
    runs no code when closed (one started would run its ``finally``: left as it is).
    """
    if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
        coroutine.close()
    return path, _UNAWAITED


def _segment(key: Any, keyed: bool | None) -> str:
    """One step of a path: ``.name`` for a dict's key, ``[1]`` for an index, none for what a
    value is written as (an enum member's value)."""
    if key is _SAME:
        return ""
    return f".{key}" if keyed else f"[{key}]"


def _joined(segments: list[str]) -> str:
    """``rows[1].score``: the segments, without the dot a top-level key begins with."""
    return "".join(segments).removeprefix(".")


def _too_deep(path: list[str]) -> tuple[str, str, str]:
    """The fault of a container ``len(path)`` levels deep, named by its path's first 120
    characters (each level adds at least 3)."""
    shown = _joined(path)
    return (shown if len(shown) <= 120 else shown[:120] + "…",
            f"is a list or dict nested {len(path)} levels deep, deeper than the "
            f"{OUTPUT_MAX_DEPTH} levels an output may nest as JSON; flatten it or return it "
            "as text", "tool_output_too_deep")

