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


def test_configured_endpoint_tool_without_url_argument_is_not_denied_for_a_missing_host(engine):
    plan = Plan.model_validate({"goal": "look up", "steps": [
        {"id": "find", "tool": "crm.lookup", "args": {"q": "acme"}}]})
    decision = engine.decide(build_policy_input(plan, _endpoint_registry(), requester=ALICE,
                                                context=NOON))
    assert decision.allow, decision.deny
    assert any("endpoint fixed by its tool definition" in note for note in decision.notes)


def test_secret_names_are_found_in_every_argument_never_with_values():
    args = {"url": "https://x.hooks.example.com/?k=${secret:Q_KEY}",
            "headers": {"Authorization": "Bearer ${secret:HOOK_TOKEN}"},
            "json": {"nested": ["${secret:BODY_KEY}", "${secret:9bad}"]}}
    assert secret_names(args) == ["BODY_KEY", "HOOK_TOKEN", "Q_KEY"]
