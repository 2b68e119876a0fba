"""An exported event re-hashes from the export alone, by the recipe the README gives.

The hash takes ``at`` as UTC without an offset ("2026-12-06T02:06:09.123456"); the export's
``at``/``time`` add a "Z". Both formats also carry the time exactly as hashed: ``hashed_at``
(JSON lines) and the ``batonat`` extension attribute (CloudEvents). The recipe is followed
here with ``hashlib`` and ``json`` only: no Baton code rebuilds the body.
"""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from executor.ledger import GENESIS_HASH, Ledger
from executor.ledger_export import export_cloudevents, export_jsonl

PAYLOADS = [{"goal": "Total the amount column — naïve café ✓"}, {},
            {"nested": {"b": [1, 2.5, None, True], "a": "x"}, "n": -7},
            {"text": "quote \" backslash \\ newline \n tab \t nul \u0000 emoji 🎉"}]


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rehashes(lines: list[dict], body_of) -> None:
    """Each line's hash is sha256(prev_hash + canonical(body)) and links to the one before."""
    prev = GENESIS_HASH
    for line in lines:
        body, prev_hash, digest = body_of(line)
        assert prev_hash == prev
        assert hashlib.sha256((prev_hash + _canonical(body)).encode("utf-8")).hexdigest() == digest
        prev = digest


def _jsonl_body(e: dict) -> tuple[dict, str, str]:
    body = {"seq": e["seq"], "at": e["hashed_at"], "kind": e["kind"], "subject": e["subject"],
            "actor": e["actor"], "payload": e["payload"]}
    return body, e["prev_hash"], e["hash"]


def _cloudevent_body(e: dict) -> tuple[dict, str, str]:
    data = e["data"]
    body = {"seq": data["seq"], "at": e["batonat"], "kind": e["type"].removeprefix("dev.baton."),
            "subject": e["subject"], "actor": data["actor"], "payload": data["payload"]}
    return body, data["prev_hash"], data["hash"]


@pytest.fixture
def ledger(engine) -> Ledger:
    ledger = Ledger(engine)
    for i, payload in enumerate(PAYLOADS):
        ledger.append("run_start", f"r-{i % 2}", "alice é", payload)
    return ledger


def _lines(write, ledger: Ledger) -> list[dict]:
    out = io.StringIO()
    write(ledger, out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_json_lines_event_rehashes_from_the_export_alone(ledger):
    lines = _lines(export_jsonl, ledger)
    assert len(lines) == len(PAYLOADS)
    _rehashes(lines, _jsonl_body)
    for e in lines:  # the same instant: the hashed form is the RFC 3339 one without its "Z"
        assert e["at"] == e["hashed_at"] + "Z"


def test_every_cloudevent_rehashes_from_the_export_alone(ledger):
    lines = _lines(export_cloudevents, ledger)
    assert len(lines) == len(PAYLOADS)
    _rehashes(lines, _cloudevent_body)
    for e in lines:  # an extension attribute: lowercase letters and digits, a string value
        assert e["time"] == e["batonat"] + "Z"


def test_a_chain_exported_by_subject_rehashes_event_by_event(ledger):
    for e in _lines(lambda led, out: export_jsonl(led, out, "r-1"), ledger):
        body, prev_hash, digest = _jsonl_body(e)
        assert hashlib.sha256((prev_hash + _canonical(body)).encode("utf-8")).hexdigest() == digest
