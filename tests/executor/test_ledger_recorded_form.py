"""Verify checks the payload text as stored, not only the value it parses to.

A payload is stored as its canonical JSON and hashed as such. Text that parses to the same
value but is not that text (a duplicate key whose first copy other readers would take,
whitespace, another escape of the same character) is an altered event all the same.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from executor.ledger import Ledger
from executor.store.hot import HotWriter
from planner.plan import canonical_json

NOT_RECORDED = "payload is not in its recorded form"
PAYLOAD = {"amount": 12.5, "note": "café ✓", "items": [{"b": 1, "a": None}], "ok": True}


@pytest.fixture
def ledger(engine) -> Ledger:
    """Three events; the second carries ``PAYLOAD``."""
    led = Ledger(engine)
    led.append("goal", "p-1", "alice", {"goal": "x"})
    led.append("plan_version", "p-1", "planner", PAYLOAD)
    led.append("decision", "p-1", "policy", {"outcome": "allow"})
    return led


def _stored(engine, seq: int) -> str:
    with engine.connect() as conn:
        query = text("SELECT payload FROM ledger WHERE seq = :s")
        return conn.execute(query, {"s": seq}).scalar_one()


def _store(engine, seq: int, payload_text: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET payload = :p WHERE seq = :s"),
                     {"p": payload_text, "s": seq})


def _assert_caught_at(ledger: Ledger, seq: int) -> None:
    result = ledger.verify()
    assert (result.ok, result.first_broken_seq) == (False, seq)
    assert result.reason == f"event {seq}: {NOT_RECORDED}"


def test_an_untouched_ledger_stores_canonical_text_and_verifies(ledger, engine):
    assert _stored(engine, 2) == canonical_json(PAYLOAD)
    assert ledger.verify().ok


def test_a_duplicate_key_prepended_is_caught(ledger, engine):
    stored = _stored(engine, 2)
    _store(engine, 2, '{"amount":999999,' + stored[1:])  # json.loads keeps the last copy
    _assert_caught_at(ledger, 2)


@pytest.mark.parametrize("reformat", [
    lambda s: s.replace(",", ", "),
    lambda s: s + "\n",
    lambda s: " " + s,
    lambda s: json.dumps(json.loads(s), sort_keys=True, separators=(",", ":")),  # é as \\u00e9
    lambda s: json.dumps(dict(reversed(json.loads(s).items())), ensure_ascii=False,
                         separators=(",", ":")),
], ids=["spaces", "trailing-newline", "leading-space", "ascii-escapes", "key-order"])
def test_the_same_value_in_other_text_is_caught(ledger, engine, reformat):
    stored = _stored(engine, 2)
    changed = reformat(stored)
    assert changed != stored and json.loads(changed) == json.loads(stored)
    _store(engine, 2, changed)
    _assert_caught_at(ledger, 2)


def test_a_payload_with_non_string_keys_is_stored_as_its_canonical_text(engine):
    ledger = Ledger(engine)
    ledger.append("goal", "p-1", "alice", {"by_row": {9: "a", 10: "b"}, "pair": (1, 2)})
    stored = _stored(engine, 1)
    assert stored == '{"by_row":{"10":"b","9":"a"},"pair":[1,2]}'
    assert stored == canonical_json(json.loads(stored))
    assert ledger.verify().ok


def test_number_keys_in_number_order_as_earlier_versions_stored_them_still_verify(engine):
    # Earlier versions stored canonical_json of the payload before its keys became strings:
    # {10: .., 9: ..} as {"9":..,"10":..}; its hash was always over the canonical text.
    ledger = Ledger(engine)
    ledger.append("goal", "p-1", "alice", {"by_row": {9: "a", 10: "b", 2.5: "c"}, "z": 1})
    _store(engine, 1, '{"by_row":{"2.5":"c","9":"a","10":"b"},"z":1}')
    assert ledger.verify().ok


def test_other_keys_out_of_order_are_caught_even_beside_number_keys(engine):
    ledger = Ledger(engine)
    ledger.append("goal", "p-1", "alice", {"by_row": {9: "a", 10: "b"}, "z": 1})
    _store(engine, 1, '{"z":1,"by_row":{"9":"a","10":"b"}}')
    _assert_caught_at(ledger, 1)


def test_the_hot_path_stores_canonical_text(engine):
    ledger = Ledger(engine)
    with engine.connect() as conn:
        writer = HotWriter(conn.connection.dbapi_connection, engine.dialect.name, ledger)
        writer.event("attempt_start", "r-1", "executor", {"args": {10: "x", 9: "y"}, **PAYLOAD})
        writer.flush()
    stored = _stored(engine, 1)
    assert stored == canonical_json(json.loads(stored))
    assert ledger.verify().ok
