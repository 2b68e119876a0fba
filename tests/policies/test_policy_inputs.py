"""What build_policy_input makes of real tools, judged by the shipped policies on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input, secret_names
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


def test_configured_endpoint_tool_is_judged_by_the_host_of_its_fixed_url(engine):
    plan = Plan.model_validate({"goal": "look up", "steps": [
        {"id": "find", "tool": "crm.lookup", "args": {"q": "acme"}}]})
    policy_input = build_policy_input(plan, _endpoint_registry(), requester=ALICE, context=NOON)
    assert policy_input["steps"][0]["url"]["host"] == "api.internal.example"
    decision = engine.decide(policy_input)
    assert decision.allow, decision.deny
    assert "step find: calls api.internal.example (read)" in decision.notes


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
