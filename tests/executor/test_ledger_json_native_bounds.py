"""``json_native`` answers for any value: deep, cyclic or sharing its containers.

It is the ledger's test for hashing a payload's text without parsing it back. Its walk used
a stack (never recursion), but took every path: a value inside itself kept it walking for
ever, and one list shared at each of 60 levels had 2**60 paths. ``Ledger.link`` asks only
after ``canonical_json`` has written the payload (which refuses a cycle and is as slow on
shared values), so only a direct call met them; a container met twice now answers False.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from executor.ledger import Ledger, event_hash, json_native
from planner.plan import canonical_json


def _nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for n in range(levels):
        value = [value] if n % 2 else {"k": value}
    return value


def test_a_value_100000_levels_deep_is_answered_without_recursion():
    assert sys.getrecursionlimit() < 100_000
    assert json_native(_nested(100_000))
    assert not json_native(_nested(100_000, leaf=(1,)))


@pytest.mark.timeout(10)
def test_a_value_inside_itself_is_not_json_native():
    looped: dict[str, Any] = {"a": [1]}
    looped["a"].append(looped)
    assert not json_native(looped)
    listed: list[Any] = []
    listed.append(listed)
    assert not json_native(listed)


@pytest.mark.timeout(10)
def test_one_list_shared_at_each_of_60_levels_is_answered_at_once():
    shared: Any = [1]
    for _ in range(60):
        shared = [shared, shared]
    assert not json_native({"rows": shared})


def test_a_payload_sharing_a_container_is_linked_as_its_text_reads_back(empty_engine):
    shared = {"n": 1}
    row, clean = Ledger(empty_engine).link(None, "attempt_start", "r-1", "executor",
                                           {"args": shared, "again": shared})
    assert clean == {"args": {"n": 1}, "again": {"n": 1}}
    assert row["payload"] == canonical_json(clean)
    assert row["hash"] == event_hash(row["prev_hash"], row["seq"], row["at"], row["kind"],
                                     row["subject"], row["actor"], clean)
