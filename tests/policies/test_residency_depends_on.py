"""Residency follows data through ``depends_on`` as well as references: a step that reads back
what an earlier step wrote (a file) carries that step's data, with no reference between them."""

from __future__ import annotations

from datetime import UTC, datetime

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input, data_sources
from tests.support.policy_tools import policy_registry

ALICE = Requester(id="alice", roles=("analyst",))
TUESDAY_10 = PolicyContext(now=datetime(2024, 6, 4, 10, tzinfo=UTC))
EU_URL = "https://data.eu.example.com/customers"


def _through_a_file(post_url: str) -> Plan:
    return Plan.model_validate({"goal": "send EU customers on", "steps": [
        {"id": "eu", "tool": "http.request", "args": {"url": EU_URL}},
        {"id": "stash", "tool": "files.write", "args": {"path": "stash.txt", "text": {"ref": "eu.text"}}},
        {"id": "back", "tool": "files.read", "args": {"path": "stash.txt"}, "depends_on": ["stash"]},
        {"id": "post", "tool": "http.request",
         "args": {"method": "POST", "url": post_url, "body": {"ref": "back.text"}}}]})


def _decide(engine, plan: Plan):
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE,
                                            context=TUESDAY_10))


def test_data_sources_follow_depends_on_transitively():
    sources = data_sources(_through_a_file("https://x.us.example.com/in"), policy_registry())
    assert sources == {"eu": [], "stash": ["eu"], "back": ["eu", "stash"],
                       "post": ["back", "eu", "stash"]}


def test_eu_data_read_back_from_a_file_may_not_go_to_a_us_host(engine):
    decision = _decide(engine, _through_a_file("https://x.us.example.com/in"))
    assert not decision.allow
    assert ("step post: data from step eu (region eu) would go to host x.us.example.com "
            "in region us") in decision.deny


def test_eu_data_read_back_from_a_file_may_go_to_an_eu_host(engine):
    decision = _decide(engine, _through_a_file("https://ingest.eu.example.com/in"))
    assert not [d for d in decision.deny if "region" in d], decision.deny
