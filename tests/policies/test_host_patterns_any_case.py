"""Host patterns in the policy data match hosts whatever their case or trailing dot, and a
host written with non-ASCII letters is judged by the name requests send (its IDNA form).

Hosts reach the rules lower-cased without a trailing dot, and patterns were compared as
written: ``"*.EU.example.com" = "eu"`` in ``host_regions`` silently matched nothing, so data
read there counted as of no region and could go anywhere. The rules now read every host
pattern (``egress_allowlist``, ``secret_destinations``, ``host_regions``) lower-cased without
a trailing dot; a pattern with non-ASCII letters could match no host, so settings refuse it.
"""

from __future__ import annotations

from typing import Any

import pytest

from baton.settings_policy_data import policy_data_problems, policies_problems
from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import StepCall
from policies.embedded import EmbeddedEngine
from policies.hosts import url_host
from policies.inputs import build_policy_input
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, NOON

EU_TO_US = {"goal": "copy", "steps": [
    {"id": "get", "tool": "http.request", "args": {"url": "https://crm.eu.example.com/customers"}},
    {"id": "post", "tool": "http.request",
     "args": {"method": "POST", "url": "https://ingest.us.example.com/in",
              "json": {"ref": "get.json"}}}]}
LEAK = "step post: data from step get (region eu) would go to host ingest.us.example.com in region us"


@pytest.fixture(params=["embedded", "opa"])
def engine_with(request):
    """``engine_with(**data)``: one backend judging with the shipped policies and ``data``.

    A fake OPA server of its own: every bundle pushed to one takes part in each query it
    answers, so bundles left on the session's would slow every later test."""
    with FakeOpa() as server:
        def make(**data: Any):
            bundle = PolicyBundle.load(overrides=data)
            if request.param == "embedded":
                return EmbeddedEngine(bundle)
            return OpaEngine(bundle, server.url, timeout_s=60.0)
        yield make


def _decide(engine, plan: dict) -> Any:
    return engine.decide(build_policy_input(Plan.model_validate(plan), policy_registry(),
                                            requester=ALICE, context=NOON))


@pytest.mark.parametrize("eu", ["*.EU.example.com", "*.eu.EXAMPLE.COM.", "*.Eu.Example.Com"])
def test_data_read_from_a_region_written_in_capitals_may_not_leave_it(engine_with, eu):
    engine = engine_with(host_regions={eu: "eu", "*.US.example.com": "us"})
    assert LEAK in _decide(engine, EU_TO_US).deny


def test_the_run_time_check_reads_host_regions_written_in_capitals(engine_with):
    engine = engine_with(host_regions={"CRM.EU.example.com.": "eu", "*.us.example.com": "us"})
    decision = engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="post", tool="http.request", effect="write",
        args={"method": "POST", "url": "https://ingest.us.example.com/in", "json": {"a": 1}},
        tags=("egress",), requester=ALICE, source_hosts=("crm.eu.example.com",)))
    assert not decision.allow
    assert "data from region eu would go to host ingest.us.example.com" in "\n".join(decision.deny)


@pytest.mark.parametrize("allowlist", [["API.Internal.Example"], ["api.internal.example."],
                                       ["*.Internal.EXAMPLE"]])
def test_an_egress_allowlist_written_in_capitals_or_with_a_dot_allows_its_host(
        engine_with, allowlist):
    engine = engine_with(egress_allowlist=allowlist)
    plan = {"goal": "get", "steps": [
        {"id": "get", "tool": "http.request", "args": {"url": "https://API.internal.example./x"}}]}
    assert not _decide(engine, plan).deny


def test_secret_destinations_written_in_capitals_allow_their_hosts(engine_with):
    engine = engine_with(secret_destinations={"HOOK_TOKEN": ["*.HOOKS.Example.com."]})
    plan = {"goal": "post", "steps": [{"id": "post", "tool": "http.request", "args": {
        "method": "POST", "url": "https://a.hooks.example.com/in",
        "headers": {"Authorization": "Bearer ${secret:HOOK_TOKEN}"}}}]}
    assert not _decide(engine, plan).deny


def test_another_host_stays_unmatched_whatever_the_case(engine_with):
    engine = engine_with(egress_allowlist=["*.HOOKS.example.com"])
    plan = {"goal": "get", "steps": [
        {"id": "get", "tool": "http.request", "args": {"url": "https://hooks.example.com.evil/x"}}]}
    assert "host hooks.example.com.evil is not on the egress allowlist" in "\n".join(
        _decide(engine, plan).deny)


@pytest.mark.parametrize(("url", "host"), [
    ("https://BÜCHER.example./x", "xn--bcher-kva.example"),
    ("https://crm.bücher.example/x", "crm.xn--bcher-kva.example"),
    ("https://xn--bcher-kva.example/x", "xn--bcher-kva.example"),
    ("https://API.internal.example./x", "api.internal.example"),
])
def test_a_host_is_judged_by_the_name_requests_send(url, host):
    assert url_host(url) == host


def test_data_read_from_an_internationalised_host_may_not_leave_its_region(engine_with):
    engine = engine_with(host_regions={"*.xn--bcher-kva.example": "eu", "*.us.example.com": "us"})
    plan = {**EU_TO_US, "steps": [
        {"id": "get", "tool": "http.request", "args": {"url": "https://crm.BÜCHER.example/c"}},
        EU_TO_US["steps"][1]]}
    assert LEAK in _decide(engine, plan).deny


@pytest.mark.parametrize("data", [
    {"egress_allowlist": ["api.internal.example", "*.bücher.example"]},
    {"secret_destinations": {"HOOK_TOKEN": ["bücher.example"]}},
    {"host_regions": {"*.bücher.example": "eu"}},
])
def test_settings_refuse_a_host_pattern_with_non_ascii_letters(data):
    problems = policy_data_problems(data)
    assert len(problems) == 1
    assert "IDNA" in problems[0][1] and "xn--" in problems[0][1]


def test_settings_accept_host_patterns_in_capitals(tmp_path):
    data = {"egress_allowlist": ["API.internal.example", "*.Hooks.Example.com."],
            "host_regions": {"*.EU.example.com": "eu"},
            "secret_destinations": {"HOOK_TOKEN": ["*.HOOKS.example.com"]}}
    assert policy_data_problems(data) == []
    assert policies_problems(None, data, embedded=True) == []
