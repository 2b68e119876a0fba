"""Masking the text a template spliced into a URL whose credential was masked.

A template's parameter (``{{path}}``) or the goal (``{{goal}}``) spliced into a URL can carry
the credential the policy refuses there (``fetch report?token=… from the api`` makes
``https://api.example.com/report?token=…``). Masking the plan hides it in the URL
(:mod:`planner.url_literals`), but not in the goal, a step's ``why``, the template parameters
or any other text it was spliced into, where no URL shows it to be one. So each such value
that is part of what masking a plan hid is masked wherever it is written: as it reads in the
masked URL where masking left what surrounds it (``report?token=***``), else whole (``***``).

Whatever planner wrote the plan, the goal's words may be in such a URL too: a model copies
``token=…`` from ``fetch report?token=… from the api`` into the URL it calls. So each value
masking hid in a plan (:func:`hidden_values`, at least :data:`MIN_HIDDEN_CHARS` long) is masked
as ``***`` wherever else it is written: the goal, each step's why, the feedback, the problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tools.url_credentials import HIDDEN, percent_decoded

# The shortest value hidden in a plan that is masked in other texts too: a shorter one is too
# often an ordinary word there ("admin", "secret"), and was found in a URL only.
MIN_HIDDEN_CHARS = 8


def spliced_masks(written: Any, masked: Any, values: Iterable[str]) -> dict[str, str]:
    """Of ``values`` (texts spliced into ``written``, a plan's wire form), each that is part of
    what masking ``written`` (as ``masked``) changed, with what to write instead.

    The texts are compared string by string, in place; a string whose place masking changed
    (a query entry's name) counts as changed whole.
    """
    values = [value for value in dict.fromkeys(values) if value]
    masks: dict[str, str] = {}
    for before, after in _changed_strings(written, masked):
        for value in values:
            for shown in _masked_occurrences(before, after, value):
                masks[value] = shown if masks.get(value, shown) == shown else HIDDEN
    return masks


def with_splices_masked(value: Any, masks: Mapping[str, str]) -> Any:
    """``value`` (JSON-like data or text) with each of ``masks``' values written as masked
    there, in every string, keys included (the longest first: one may hold another)."""
    if not masks:
        return value
    if isinstance(value, str):
        for written in sorted(masks, key=len, reverse=True):
            value = value.replace(written, masks[written])
        return value
    if isinstance(value, Mapping):
        return {with_splices_masked(k, masks): with_splices_masked(v, masks)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [with_splices_masked(item, masks) for item in value]
    return value


def hidden_values(written: Any, masked: Any) -> list[str]:
    """Each value masking ``written`` (JSON-like data or text) as ``masked`` hid, of at least
    :data:`MIN_HIDDEN_CHARS` characters, as written and percent-decoded: what ``masked`` holds
    ``***`` in place of, string by string.

    Where masking wrote a text again (a JSON or form text from its decoding, a URL's value
    decoded), the value is read where ``masked`` shows it: in the text decoded; else the
    part of the text masking changed. Where a JSON or form text was masked as text, the
    values masking what it encodes hides are found too: as the policy and the service read
    them (``Zk3x9QpL/m2Vb7Rt``), not only as written (``Zk3x9QpL\\/m2Vb7Rt``).
    """
    from policies.step_strings import DECODED_TEXT_LEVELS  # as deep as the policy reads

    found: dict[str, None] = {}
    for before, after in _paired_strings(written, masked):
        # One more: a reply's JSON is read as text before what it encodes.
        for value in _hidden_parts(before, after, DECODED_TEXT_LEVELS + 1):
            for form in (value, percent_decoded(value)):
                if len(form.strip()) >= MIN_HIDDEN_CHARS and HIDDEN not in form:
                    found[form] = None
    return list(found)


def spliced_values(params: Mapping[str, Any], goal: str | None) -> list[str]:
    """What a template splices into its steps as text: its parameters' values (a number as
    written) and the goal (``{{goal}}``)."""
    found = [str(value) for value in params.values()
             if isinstance(value, str | int | float) and not isinstance(value, bool)]
    return [*found, goal] if goal else found


def _changed_strings(written: Any, masked: Any) -> Iterator[tuple[str, str | None]]:
    # (string written, string masked in its place) of each string masking changed; None in
    # its place where the structure around it changed.
    if isinstance(written, str):
        if written != masked:
            yield written, masked if isinstance(masked, str) else None
    elif isinstance(written, Mapping):
        same = isinstance(masked, Mapping) and list(written) == list(masked)
        for key, item in written.items():
            if not same:
                yield from _changed_strings(key, None)
            yield from _changed_strings(item, masked[key] if same else None)
    elif isinstance(written, list | tuple):
        same = isinstance(masked, list | tuple) and len(written) == len(masked)
        for index, item in enumerate(written):
            yield from _changed_strings(item, masked[index] if same else None)


def _paired_strings(written: Any, masked: Any) -> Iterator[tuple[str, str | None]]:
    # (string written, string masked in its place) of each string masking changed, keys paired
    # in order (masking keeps it); None in its place where the structure around it changed.
    if isinstance(written, str):
        if written != masked:
            yield written, masked if isinstance(masked, str) else None
    elif isinstance(written, Mapping):
        same = isinstance(masked, Mapping) and len(masked) == len(written)
        shown = list(masked.items()) if same else [(None, None)] * len(written)
        for (key, item), (key_shown, item_shown) in zip(written.items(), shown, strict=True):
            yield from _paired_strings(key, key_shown)
            yield from _paired_strings(item, item_shown)
    elif isinstance(written, list | tuple):
        same = isinstance(masked, list | tuple) and len(masked) == len(written)
        for item, item_shown in zip(written, masked if same else [None] * len(written),
                                    strict=True):
            yield from _paired_strings(item, item_shown)


def _hidden_parts(before: str, after: str | None, levels: int) -> list[str]:
    """What masking ``before`` as ``after`` hid (``after`` None: the structure around it
    changed, what masking it as text hides)."""
    if after is not None and after != HIDDEN:
        for reading in dict.fromkeys((before, percent_decoded(before))):
            parts = _aligned(reading, after)
            if parts is not None:
                return [*parts, *_encoded_parts(before, levels)]
        decoded = _decoded_pair(before, after, levels)
        if decoded is not None:
            return [value for pair in decoded for value in _hidden_parts(*pair, levels - 1)]
        prefix = _common_prefix(before, after)
        suffix = _common_prefix(before[prefix:][::-1], after[prefix:][::-1])
        return [before[prefix:len(before) - suffix], *_encoded_parts(before, levels)]
    from planner.url_literals import masked_value  # which splices nothing: no cycle

    shown = masked_value(before)
    inner = _hidden_parts(before, shown, levels) if shown not in (before, HIDDEN) else []
    return [before, *inner] if after == HIDDEN else inner


def _encoded_parts(before: str, levels: int) -> list[str]:
    """What masking hides in what ``before`` encodes (a JSON or form text, ``levels`` texts
    deep more), as the policy reads and refuses it: where masking ``before`` as text hid a
    value as written (``Zk3x9QpL\\/m2Vb7Rt``, ``\\u005Ak3x…``), the value it encodes
    (``Zk3x9QpL/m2Vb7Rt``), which the service reads and a goal or a why may quote."""
    from planner.url_literals import masked_decoding  # which splices nothing: no cycle

    found = masked_decoding(before, levels)
    if found is None or found[0] == found[1]:
        return []
    return [value for pair in _paired_strings(*found) for value in _hidden_parts(*pair, levels - 1)]


def _aligned(before: str, after: str) -> list[str] | None:
    """The texts of ``before`` that ``after`` shows as ``***``, where ``after`` is ``before``
    with only those replaced; else None. Each is read up to what follows its mask there
    (a value ends where ``&``, ``;`` or a quote does)."""
    pieces = after.split(HIDDEN)
    end = len(before) - len(pieces[-1])
    if (len(pieces) < 2 or not before.startswith(pieces[0]) or not before.endswith(pieces[-1])
            or end <= len(pieces[0])):
        return None
    parts, start = [], len(pieces[0])
    for piece in pieces[1:-1]:
        found = before.find(piece, start + 1, end) if piece else -1
        if found == -1:
            return None
        parts.append(before[start:found])
        start = found + len(piece)
    if end <= start:
        return None
    return [*parts, before[start:end]]


def _decoded_pair(before: str, after: str, levels: int) -> list[tuple[str, str | None]] | None:
    # Each changed string of what ``before`` and ``after`` encode, when both are JSON or form
    # texts of one kind (masking wrote ``after`` again from its decoding).
    if levels <= 0:
        return None
    from policies.step_strings import decoded_text  # loaded when first needed

    read = decoded_text(before), decoded_text(after)
    if read[0] is None or read[1] is None or read[0][0] != read[1][0]:
        return None
    return list(_paired_strings(read[0][1], read[1][1]))


def _masked_occurrences(before: str, after: str | None, value: str) -> Iterator[str]:
    """What ``value`` reads as in ``after`` at each of its occurrences in ``before`` that the
    change from ``before`` to ``after`` touches: the text between what precedes and follows
    it, where masking left both; else the mask."""
    if after is None:
        if value in before:
            yield HIDDEN
        return
    prefix = _common_prefix(before, after)
    suffix = _common_prefix(before[prefix:][::-1], after[prefix:][::-1])
    changed_end = len(before) - suffix
    start = before.find(value)
    while start != -1:
        end = start + len(value)
        if start < max(changed_end, prefix + 1) and end > prefix:  # it touches the change
            kept_after = len(before) - end
            covers = start <= prefix and kept_after <= suffix
            yield after[start:len(after) - kept_after] if covers else HIDDEN
        start = before.find(value, start + 1)


def _common_prefix(a: str, b: str) -> int:
    # By halves, each comparison made by the string type: a changed text may be long.
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


__all__ = ["MIN_HIDDEN_CHARS", "hidden_values", "spliced_masks", "spliced_values",
           "with_splices_masked"]
