"""What build_policy_input makes of real tools, judged by the shipped policies on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input
from policies.step_strings import secret_names
from tools import ToolRegistry
from tools.http_endpoint import register_http_tool

ALICE = Requester(id="alice", roles=("analyst",))
NOON = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))


def _endpoint_registry() -> ToolRegistry:
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.lookup", url="https://api.internal.example/crm",
                       method="GET", description="Look a customer up.",
                       input_schema={"type": "object", "properties": {"q": {"type": "string"}}},
                       secrets=("CRM_TOKEN",), headers={"Authorization": "Bearer ${secret:CRM_TOKEN}"})
    return registry


def _engine_with(request_param: str, fake_opa, data: dict) -> object:
    from policies.bundle import PolicyBundle
    from policies.embedded import EmbeddedEngine
    from policies.opa import OpaEngine

    bundle = PolicyBundle.load(overrides=data)
    if request_param == "embedded":
        return EmbeddedEngine(bundle)
    return OpaEngine(bundle, fake_opa.url, timeout_s=10.0)


@pytest.fixture(params=["embedded", "opa"])
def crm_token_allowed(request, fake_opa):
    """Both engines, with CRM_TOKEN allowed to the CRM endpoint's host."""
    return _engine_with(request.param, fake_opa,
                        {"secret_destinations": {"CRM_TOKEN": ["api.internal.example"]}})


def test_configured_endpoint_tool_is_judged_by_the_host_of_its_fixed_url(crm_token_allowed):
    plan = Plan.model_validate({"goal": "look up", "steps": [
        {"id": "find", "tool": "crm.lookup", "args": {"q": "acme"}}]})
    policy_input = build_policy_input(plan, _endpoint_registry(), requester=ALICE, context=NOON)
    assert policy_input["steps"][0]["url"]["host"] == "api.internal.example"
    assert policy_input["steps"][0]["secret_names"] == ["CRM_TOKEN"]
    decision = crm_token_allowed.decide(policy_input)
    assert decision.allow, decision.deny
    assert "step find: calls api.internal.example (read)" in decision.notes


def test_an_endpoint_tools_own_header_secret_needs_a_destination_for_its_host(engine):
    # The secret is in the tool's configured headers, not in the plan: it still goes to the
    # endpoint's host, so secret_destinations must allow that host (the shipped data does not).
    plan = Plan.model_validate({"goal": "look up", "steps": [
        {"id": "find", "tool": "crm.lookup", "args": {"q": "acme"}}]})
    decision = engine.decide(build_policy_input(plan, _endpoint_registry(), requester=ALICE,
                                                context=NOON))
    assert not decision.allow
    assert ("step find: secret CRM_TOKEN has no allowed destinations (list it under "
            "secret_destinations)") in decision.deny


@pytest.fixture(params=["embedded", "opa"])
def crm_token_elsewhere(request, fake_opa):
    """Both engines, with CRM_TOKEN allowed only to another host."""
    return _engine_with(request.param, fake_opa,
                        {"secret_destinations": {"CRM_TOKEN": ["api.crm.example"]}})


def test_an_endpoint_tools_header_secret_is_refused_at_run_time_for_another_host(
        crm_token_elsewhere):
    from policies.inputs import step_call_for

    plan = Plan.model_validate({"goal": "look up", "steps": [
        {"id": "find", "tool": "crm.lookup", "args": {"q": "acme"}}]})
    call = step_call_for(plan, "find", {"q": "acme"}, _endpoint_registry(), run_id="r-1",
                         plan_id="p-1", requester=ALICE)
    assert call.endpoint_secrets == ("CRM_TOKEN",)
    decision = crm_token_elsewhere.check_step(call)
    assert not decision.allow
    assert "step find: secret CRM_TOKEN may not be sent to host api.internal.example" in decision.deny


def test_endpoint_tool_off_the_allowlist_is_denied_whatever_its_url_argument_says(engine):
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.push", url="https://crm.vendor.example/push",
                       description="Push a record.",
                       input_schema={"type": "object", "properties": {"url": {"type": "string"}}})
    plan = Plan.model_validate({"goal": "push", "steps": [
        {"id": "push", "tool": "crm.push", "args": {"url": "https://api.internal.example/x"}}]})
    decision = engine.decide(build_policy_input(plan, registry, requester=ALICE, context=NOON))
    assert not decision.allow
    assert "step push: host crm.vendor.example is not on the egress allowlist" in decision.deny


def test_secret_names_are_found_in_every_argument_never_with_values():
    args = {"url": "https://x.hooks.example.com/?k=${secret:Q_KEY}",
            "headers": {"Authorization": "Bearer ${secret:HOOK_TOKEN}"},
            "json": {"nested": ["${secret:BODY_KEY}", "${secret:9bad}"]}}
    assert secret_names(args) == ["BODY_KEY", "HOOK_TOKEN", "Q_KEY"]
