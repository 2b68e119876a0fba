"""CloudEvents exports: ``source`` names the ledger, so (source, id) is unique across installations."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from executor.ledger import Ledger
from executor.ledger_export import cloudevents_source_problem, export_cloudevents, ledger_source
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


@pytest.mark.parametrize("source", [
    "urn:acme:baton:prod", "https://audit.example.com/baton?env=prod#ledger", "/baton/ledger",
    "baton:ledger:00ff", "caf%C3%A9", "mailto:audit@example.com", "//[::1]:8080/baton",
    "http://[::ffff:192.0.2.1]/", "http://[v1.fe:ed]/x", "http://user:pw@host:8080/p?q=a/b?c#f/g?h",
    "http://h:/", "file:///var/log", "?only=query", "#only-fragment", "a/b:c", "urn:x:y@z",
    "http://[2001:DB8::1]"])
def test_a_uri_reference_is_a_valid_source(source):
    assert cloudevents_source_problem(source) is None


@pytest.mark.parametrize(("source", "why"), [
    ("", "non-empty"), (" ", "whitespace"), ("urn:acme baton", "whitespace"),
    ("urn:acme\nbaton", "whitespace"), ("urn:acme\x00", "control"), ("urn:acme\x7f", "control"),
    ("urn:acme\u200b", "'\\u200b'"), ("urn:café", "'é'"), ("urn:{env}", "'{'"),
    ("100%", "%XX"), ("urn:%zz", "%XX"), ("1acme:x", "scheme"), ("[::1]", "scheme"),
    ("urn:a[b]", "'['"), ("http://ex.com/a]b", "']'"), ("http://ex.com/?q=[1]", "'['"),
    ("urn:x#[f]", "'['"), ("//h[x]/", "'['"), ("http://us[er@h/", "'['"),
    ("http://[::1", "IP-literal"), ("http://[::1]x/", "IP-literal"), ("http://[nothex]/", "IP-literal"),
    ("http://[::1%25eth0]/", "IP-literal"), ("http://[1.2.3.4]/", "IP-literal"),
    ("http://[v1.]/", "IP-literal"), ("http://[::1]]/", "IP-literal"),
    ("a#b#c", "'#'"), ("urn:x##", "'#'"),
    ("http://h:port/", "port"), ("http://h:80:80/", "port"), ("//h:8a", "port"),
    ("http://a@b@c/", "'@'")])
def test_a_source_that_is_not_a_uri_reference_is_refused_saying_why(engine, source, why):
    problem = cloudevents_source_problem(source)
    assert problem is not None and why in problem, problem
    assert "\n" not in problem  # one line, whatever the value holds
    with pytest.raises(ValueError, match="source"):
        export_cloudevents(_filled(engine), io.StringIO(), source=source)


@given(st.text(min_size=1), st.sampled_from(" \t\r\n\x00\x1f\x7f\x85\xa0\u2028\u3000"), st.text())
def test_no_source_holding_whitespace_or_a_control_character_is_accepted(before, bad, after):
    assert cloudevents_source_problem(before + bad + after) is not None


def test_an_empty_ledger_exports_nothing(engine):
    assert _cloudevents(Ledger(engine)) == []
