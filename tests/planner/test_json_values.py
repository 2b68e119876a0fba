"""``storable``: an invalid document is recorded, with whatever no store can hold turned into text."""

from __future__ import annotations

import json
import math
from typing import Any

from planner import canonical_json
from planner.json_values import CUT, storable


def test_storable_keeps_a_plain_document_as_it_is():
    document = {"goal": "g", "steps": [{"id": "a", "args": {"n": 1.5, "ok": True, "x": None}}]}
    assert storable(document) == document


def test_storable_turns_what_no_store_can_hold_into_text_that_encodes():
    document = {"goal": "a\ud800", 1: [math.nan, -math.inf], "k\udfff": "v"}
    kept = storable(document)
    assert kept == {"goal": "a\\ud800", "1": ["nan", "-inf"], "k\\udfff": "v"}
    json.loads(canonical_json(kept).encode("utf-8"))


def test_storable_cuts_nesting_too_deep_to_serialise():
    nested: Any = "x"
    for _ in range(5_000):
        nested = {"k": nested}
    text = canonical_json(storable({"goal": "g", "steps": [nested]}))
    assert CUT in text and len(text) < 2_000
