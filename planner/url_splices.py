"""Masking the text a template spliced into a URL whose credential was masked.

A template's parameter (``{{path}}``) or the goal (``{{goal}}``) spliced into a URL can carry
the credential the policy refuses there (``fetch report?token=… from the api`` makes
``https://api.example.com/report?token=…``). Masking the plan hides it in the URL
(:mod:`planner.url_literals`), but not in the goal, a step's ``why``, the template parameters
or any other text it was spliced into, where no URL shows it to be one. So each such value
that is part of what masking a plan hid is masked wherever it is written: as it reads in the
masked URL where masking left what surrounds it (``report?token=***``), else whole (``***``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tools.url_credentials import HIDDEN


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


__all__ = ["spliced_masks", "spliced_values", "with_splices_masked"]
