"""Residency decides long plans the validator accepts: a 200-step chain (each step's
``data_sources`` lists every step before it) took the embedded interpreter minutes and then
failed with "Maximum statement count reached", holding the engine's lock all the while.
(How long it takes is measured in ``bench/bench_policy.py``, not asserted here.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, Requester
from policies.embedded import EmbeddedEngine
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry

ALICE = Requester(id="alice", roles=("analyst",))
TUESDAY_10 = PolicyContext(now=datetime(2024, 6, 4, 10, tzinfo=UTC))
EU_URL = "https://data.eu.example.com/customers"
US_URL = "https://x.us.example.com/in"
STEPS = 200  # the validator's default max_steps


@pytest.fixture(scope="module")
def embedded() -> EmbeddedEngine:
    return EmbeddedEngine(PolicyBundle.load())


def _decide(engine: EmbeddedEngine, steps: list[dict[str, Any]]):
    plan = Plan.model_validate({"goal": "g", "steps": steps})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE,
                                            context=TUESDAY_10))


def _chain(n: int, first: dict[str, Any], last: dict[str, Any] | None = None):
    steps = [first]
    for i in range(1, n):
        steps.append({"id": f"s{i}", "tool": "files.read", "args": {"path": "a.csv"},
                      "depends_on": [steps[-1]["id"]]})
    if last is not None:
        steps[-1] = {**last, "depends_on": [steps[-2]["id"]]}
    return steps


def _engine_errors(decision) -> list[str]:
    return [d for d in decision.deny if d.startswith("policy engine error")]


def test_a_200_step_chain_is_decided(embedded):
    decision = _decide(embedded, _chain(STEPS, {"id": "s0", "tool": "files.read",
                                                "args": {"path": "a.csv"}}))
    assert _engine_errors(decision) == []
    assert f"the plan has {STEPS} steps; at most 50 are allowed" in decision.deny


def test_a_200_step_plan_whose_writes_each_depend_on_all_before_is_decided(embedded):
    steps = [{"id": f"w{i}", "tool": "files.write", "args": {"path": f"o{i}.txt", "text": "x"},
              "depends_on": [f"w{j}" for j in range(i)]} for i in range(STEPS)]
    decision = _decide(embedded, steps)
    assert _engine_errors(decision) == []
    assert f"the plan has {STEPS} write steps; at most 10 are allowed" in decision.deny


def test_eu_data_at_the_head_of_a_200_step_chain_may_not_reach_a_us_host(embedded):
    last = {"id": "post", "tool": "http.request",
            "args": {"method": "POST", "url": US_URL, "body": "done"}}
    decision = _decide(embedded, _chain(STEPS, {"id": "get", "tool": "http.request",
                                                "args": {"url": EU_URL}}, last))
    assert _engine_errors(decision) == []
    leaks = [d for d in decision.deny if "would go to" in d]
    assert leaks == ["step post: data from step get (region eu) would go to host "
                     "x.us.example.com in region us"]


def test_past_50_flows_out_of_a_region_the_rest_are_counted_not_listed(embedded):
    # 60 EU reads chained to a POST to a US host: 60 flows. The interpreter builds a set
    # in time quadratic in its size: 10,000 messages (100 reads, 100 POSTs) took minutes.
    steps = _chain(61, {"id": "s0", "tool": "http.request", "args": {"url": EU_URL}})
    steps = [{**s, "tool": "http.request", "args": {"url": EU_URL}} for s in steps[:-1]]
    steps.append({"id": "post", "tool": "http.request", "depends_on": ["s59"],
                  "args": {"method": "POST", "url": US_URL, "body": "done"}})
    decision = _decide(embedded, steps)
    assert _engine_errors(decision) == []
    leaks = [d for d in decision.deny if "would go to host x.us.example.com" in d]
    assert len(leaks) == 50
    assert all(d.startswith("step post: data from step s") for d in leaks)
    assert "and 10 more flows of data out of their region (the first 50 are listed)" \
        in decision.deny
