"""CloudEvents exports: ``source`` names the ledger, so (source, id) is unique across installations."""

from __future__ import annotations

import io
import json

from executor.ledger import Ledger
from executor.ledger_export import export_cloudevents, ledger_source
from executor.store.db import make_engine
from executor.store.migrate import upgrade


def _cloudevents(ledger: Ledger, **options) -> list[dict]:
    out = io.StringIO()
    export_cloudevents(ledger, out, **options)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _filled(engine) -> Ledger:
    ledger = Ledger(engine)
    for i in range(3):
        ledger.append("run_start", f"run{i % 2}", "executor", {"i": i})  # same events everywhere
    return ledger


def test_two_ledgers_export_under_different_sources_and_one_ledger_under_a_stable_one(
        engine, tmp_path):
    ours = _filled(engine)
    other_engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other_engine)
    theirs = _filled(other_engine)

    first = _cloudevents(ours)
    (genesis, *_rest) = ours.events()
    assert {e["source"] for e in first} == {f"baton:ledger:{genesis.hash}"}
    assert ledger_source(ours) == first[0]["source"]
    other = _cloudevents(theirs)
    assert [e["id"] for e in other] == [e["id"] for e in first]  # same ids...
    assert {e["source"] for e in other}.isdisjoint({e["source"] for e in first})  # ...other source

    ours.append("run_end", "run0", "executor", {"status": "succeeded"})
    assert {e["source"] for e in _cloudevents(ours)} == {first[0]["source"]}
    assert {e["source"] for e in _cloudevents(ours, subject="run1")} == {first[0]["source"]}
    other_engine.dispose()


def test_the_source_can_be_set(engine):
    ledger = _filled(engine)
    assert {e["source"] for e in _cloudevents(ledger, source="urn:acme:baton:prod")} == {
        "urn:acme:baton:prod"}


def test_an_empty_ledger_exports_nothing(engine):
    assert _cloudevents(Ledger(engine)) == []
