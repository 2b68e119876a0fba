"""A read whose own URL comes from an earlier step's output is checked when it runs, with the
URL it resolved to: the plan decision could not place it (it saw a reference, not a host), so
it allowed the plan and listed the step under ``runtime_checks``, saying its host is checked
when the step runs.

Before, the executor asked about a read only when a *source's* URL came from a reference:
EU data fetched from a literal EU URL reached a read of a US host named by another step's
output, judged by no one (with the same URL written in the plan, the plan was denied).
"""

from __future__ import annotations

from typing import Any

from executor.records import RunStatus
from planner.plan import Plan
from policies.contracts import Requester
from policies.inputs import build_policy_input
from tests.executor import test_runtime_residency_policy_regions as regions
from tests.executor.runsupport import make_runner, run_plan
from tests.executor.test_runtime_residency_policy_regions import (
    EU_URL,
    US_CRM,
    RecordingPolicy,
    _registry,
)
from tests.support.url_credential_cases import NOON

policy_engine = regions.policy_engine  # the fixture: each engine, crm.lookup placed in the US


def _plan(crm_url: str, expression: str = "u") -> dict[str, Any]:
    # fetch's URL is written in the plan; look's comes from links' output.
    return {"goal": "look the customers up", "steps": [
        {"id": "fetch", "tool": "http.request", "args": {"url": EU_URL}},
        {"id": "links", "tool": "json.query",
         "args": {"expression": expression, "data": {"u": crm_url}}},
        {"id": "look", "tool": "crm.find",
         "args": {"segment": {"ref": "fetch.text"}, "url": {"ref": "links.value"}}}]}


def _run(engine, tmp_path, policy_engine, plan):
    calls: list[tuple[str, str]] = []
    registry = _registry(calls)
    decision = policy_engine.decide(build_policy_input(
        Plan.model_validate(plan), registry, requester=Requester(id="alice", roles=("admin",)),
        context=NOON))
    assert decision.allow, decision.deny
    assert "look" in decision.runtime_checks  # the plan decision deferred it to run time
    policy = RecordingPolicy(policy_engine)
    runner = make_runner(engine, registry, tmp_path, runtime_check=policy)
    return run_plan(runner, engine, plan), calls, policy, decision


def test_eu_data_may_not_reach_a_read_whose_own_url_names_a_us_host_at_run_time(
        engine, tmp_path, policy_engine):
    record, calls, policy, _ = _run(engine, tmp_path, policy_engine, _plan(US_CRM))
    assert record.status is RunStatus.FAILED
    assert calls == [("GET", EU_URL)]  # never read with the EU rows
    look = next(s for s in record.steps if s.step_id == "look")
    assert "data from region eu would go to tool crm.find in region us" in look.error, look.error
    assert "look" in policy.asked


def test_every_step_the_plan_decision_defers_is_checked_when_it_runs(
        engine, tmp_path, policy_engine):
    record, calls, policy, decision = _run(engine, tmp_path, policy_engine,
                                           _plan("https://crm.eu.example.com/lookup"))
    assert record.status is RunStatus.SUCCEEDED
    assert calls == [("GET", EU_URL), ("READ", "EU customer rows")]
    assert set(decision.runtime_checks) <= set(policy.asked)


def test_a_read_whose_own_url_names_a_host_of_no_region_is_checked_and_allowed(
        engine, tmp_path, policy_engine):
    # The check reads the resolved URL (say, for a credential in it), as runtime_checks says.
    record, calls, policy, _ = _run(engine, tmp_path, policy_engine,
                                    _plan("https://crm.internal.example/lookup"))
    assert record.status is RunStatus.SUCCEEDED
    assert "look" in policy.asked
    assert calls[-1] == ("READ", "EU customer rows")


def test_a_read_whose_own_url_carries_a_credential_at_run_time_is_denied(
        engine, tmp_path, policy_engine):
    # The credential is put together at run time: no string of the plan holds it.
    plan = _plan("crm.internal.example/lookup",
                 expression="join('', ['https://bob', ':hunter2', '@', u])")
    record, calls, _, _ = _run(engine, tmp_path, policy_engine, plan)
    assert record.status is RunStatus.FAILED
    assert calls == [("GET", EU_URL)]
