"""The ledger's fast hashing path (payload serialised once) agrees byte for byte with verify."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executor.ledger import GENESIS_HASH, Ledger, event_hash, json_native
from planner.plan import canonical_json

PAYLOADS = [
    {"step": "s1", "attempt": 1, "args": {"n": 3, "nested": {"b": [1, 2.5, None], "a": True}}},
    {"text": "héllo → 世界 \u2028 \"quoted\" \\ back", "emoji": "🙂", "ctrl": "\x01\n\t"},
    {"floats": [0.1, 1e-7, 1e300, -0.0, 3.0, 123456789.123456789], "big": 2**70, "neg": -5},
    {"z": 1, "a": {"y": [], "b": {}}, "": "empty key", "ü": "non-ascii key"},
    {"ints_as_keys": {1: "one", 10: "ten", 9: "nine"}},  # sorted numerically before, as text after
    {"tuple": (1, 2), "set_like": ["x"]},
    {"nan": math.nan, "inf": math.inf},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_link_hashes_exactly_what_verify_recomputes(empty_engine, payload):
    row, clean = Ledger(empty_engine).link((41, "ab" * 32), "attempt_success", "r-1", "executor",
                                           payload)
    stored = json.loads(row["payload"])
    assert row["hash"] == event_hash(row["prev_hash"], row["seq"], row["at"], row["kind"],
                                     row["subject"], row["actor"], stored)
    assert clean == stored or canonical_json(clean) == canonical_json(stored)


def test_only_json_native_values_take_the_fast_path():
    assert json_native({"a": [1, 2.0, "x", None, True, {"b": []}]})
    assert not json_native({"a": (1, 2)})
    assert not json_native({1: "int key"})
    assert not json_native({"a": {"b": {2: "deep int key"}}})
    assert not json_native({"when": datetime.now(UTC)})


def test_a_chain_appended_with_every_payload_verifies(engine):
    ledger = Ledger(engine, secret_values=["s3cr3t"])
    for payload in PAYLOADS:
        ledger.append("attempt_success", "r-1", "executor", payload)
    ledger.append("attempt_start", "r-1", "executor", {"args": {"token": "Bearer s3cr3t"}})
    result = ledger.verify()
    assert result.ok, result.reason
    assert result.events == len(PAYLOADS) + 1
    assert "s3cr3t" not in json.dumps([e.payload for e in ledger.events()])



def test_events_read_back_carry_their_time_in_utc(engine):
    ledger = Ledger(engine)
    appended = ledger.append("goal", "p-1", "alice", {"goal": "x"})
    [read] = ledger.events()
    assert read.at.tzinfo is not None and read.at.utcoffset().total_seconds() == 0
    assert read.at == appended.at

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=6), json_values, max_size=5),
       subject=st.text(max_size=10), actor=st.text(max_size=10))
def test_fast_hash_matches_the_general_one_for_any_json_payload(payload, subject, actor):
    row, _ = Ledger(_NoEngine()).link(None, "goal", subject, actor, payload)
    assert row["prev_hash"] == GENESIS_HASH
    assert row["hash"] == event_hash(GENESIS_HASH, 1, row["at"], "goal", subject, actor,
                                     json.loads(row["payload"]))


class _NoEngine:
    """``link`` never touches the engine."""
