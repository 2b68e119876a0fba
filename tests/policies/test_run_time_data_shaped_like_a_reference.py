"""At run time the arguments are resolved: a mapping shaped like a reference in them is data
another step returned, read as every other value is, by the secret rules and the URL rules,
and by the executor's choice of the secrets it hands the tool, which is the policy input's.

In a plan, ``{"ref": ...}`` stays a reference: what it will bring is judged when it runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from executor.call_payloads import referenced_secrets
from planner.plan import Plan
from policies.contracts import StepCall
from policies.inputs import build_policy_input, build_step_input
from tests.policies.test_policy_inputs import ALICE, NOON, _engine_with
from tools import ToolRegistry
from tools.builtin.http import register_http_request

SHAPED = {"Authorization": {"ref": "Bearer ${secret:TOKEN}"}}


def _call(args: dict[str, Any], *, tags: tuple[str, ...] = ("egress", "network")) -> StepCall:
    return StepCall(run_id="r-1", plan_id="p-1", step_id="s2", tool="http.request",
                    effect="read", args=args, tags=tags, requester=ALICE)


def _step(args: dict[str, Any]) -> dict[str, Any]:
    return build_step_input(_call(args))["step"]


@pytest.fixture(params=["embedded", "opa"])
def token_to_hooks(request, fake_opa):
    """Both engines: TOKEN may go to api.internal.example only."""
    return _engine_with(request.param, fake_opa,
                        {"secret_destinations": {"TOKEN": ["api.internal.example"]}})


def test_a_secret_in_resolved_data_shaped_like_a_reference_is_named_in_the_step_input():
    step = _step({"url": "https://x.hooks.example.com/",
                  "headers": {"ref": "Bearer ${secret:TOKEN}"}, "json": SHAPED})
    assert step["secret_names"] == ["TOKEN"]


def test_a_reference_in_a_plan_names_no_secret_before_it_resolves():
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1024)
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "s1", "tool": "http.request", "args": {"url": "https://api.internal.example/"}},
        {"id": "s2", "tool": "http.request", "args": {
            "url": "https://x.hooks.example.com/", "headers": {"ref": "s1.json.h"}}}]})
    entry = build_policy_input(plan, registry, requester=ALICE, context=NOON)["steps"][1]
    assert entry["secret_names"] == []
    assert [r["ref"] for r in entry["references"]] == ["s1.json.h"]


def test_a_secret_in_resolved_data_shaped_like_a_reference_is_judged_by_its_destinations(
        token_to_hooks):
    decision = token_to_hooks.check_step(_call({
        "url": "https://x.hooks.example.com/", "headers": {"ref": "Bearer ${secret:TOKEN}"}}))
    assert not decision.allow
    assert "step s2: secret TOKEN may not be sent to host x.hooks.example.com" in decision.deny


def test_a_resolved_url_shaped_like_a_reference_is_no_url_whose_host_can_be_checked(engine):
    # The plan decision left a URL from another step's output to run time; what it resolved
    # to is data, not a reference to judge later: no host, so the call is denied.
    step = _step({"url": {"ref": "https://evil.example/"}})
    assert step["url"] == {"url_from_ref": False, "host": None}
    decision = engine.check_step(_call({"url": {"ref": "https://evil.example/"}}))
    assert not decision.allow
    assert "step s2: the URL has no host that can be checked" in decision.deny


def test_a_secret_for_a_resolved_url_shaped_like_a_reference_is_denied(token_to_hooks):
    decision = token_to_hooks.check_step(_call(
        {"url": {"ref": "https://api.internal.example/"},
         "headers": {"Authorization": "${secret:TOKEN}"}}, tags=()))
    assert not decision.allow
    assert ("step s2: secret TOKEN is used, but the step has no URL whose host can be "
            "checked") in decision.deny


_TEXT = st.sampled_from(["${secret:A}", "x ${secret:B} y", "ref", "plain",
                         "${secret:C}${secret:A}"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(_TEXT, inner, max_size=3)
    | st.builds(lambda v: {"ref": v}, inner), max_leaves=12)


@given(st.dictionaries(st.sampled_from(["url", "headers", "json", "body"]), _JSON, max_size=4))
def test_the_executor_hands_over_exactly_the_secrets_the_checked_input_names(args):
    assert list(referenced_secrets(args)) == _step(args)["secret_names"]
