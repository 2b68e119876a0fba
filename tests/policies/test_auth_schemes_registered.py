"""A credential after any registered HTTP authentication scheme is judged, as after Bearer.

secrets.rego reads ``Authorization: <scheme> <credential>`` as the credential alone when the
scheme is one it knows; an unknown scheme leaves the value a phrase (it holds a space), which
is never a secret. ``GNAP 80UPRY5NM33OMUKMKSKU`` was allowed while ``DPoP`` of the same was
denied. The schemes are IANA's HTTP Authentication Scheme Registry as of 2025.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester, StepCall
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry

ALICE = Requester(id="alice", roles=("analyst",))
NOON = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
URL = "https://a.hooks.example.com/x"
CREDENTIAL = "80UPRY5NM33OMUKMKSKU"  # RFC 9635's example access token

REGISTERED = ["Basic", "Bearer", "Concealed", "Digest", "DPoP", "GNAP", "HOBA", "Mutual",
              "Negotiate", "OAuth", "PrivateToken", "SCRAM-SHA-1", "SCRAM-SHA-256", "vapid"]


def _headers(headers: dict[str, str]) -> dict:
    return {"method": "POST", "url": URL, "headers": headers, "json": {"a": 1}}


def _decide(engine, headers: dict[str, str]):
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "post", "tool": "http.request", "args": _headers(headers)}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


def _check(engine, headers: dict[str, str]):
    return engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="post", tool="http.request", effect="write",
        args=_headers(headers), tags=("egress",), requester=ALICE))


@pytest.mark.parametrize("scheme", REGISTERED)
def test_a_literal_credential_after_a_registered_scheme_is_denied(engine, scheme):
    decision = _decide(engine, {"Authorization": f"{scheme} {CREDENTIAL}"})
    assert not decision.allow
    assert any("step post: argument $.args.headers.Authorization" in d for d in decision.deny), \
        decision.deny
    assert not any(CREDENTIAL in d for d in decision.deny + decision.notes)


@pytest.mark.parametrize("written", ["gnap", "GNAP", "privatetoken", "PRIVATETOKEN", "Vapid",
                                     "scram-sha-256"])
def test_the_scheme_is_read_case_aside(engine, written):
    decision = _decide(engine, {"Proxy-Authorization": f"{written} {CREDENTIAL}"})
    assert any("Proxy-Authorization" in d for d in decision.deny), decision.deny


def test_a_gnap_credential_is_denied_at_run_time(engine):
    verdict = _check(engine, {"Authorization": f"GNAP {CREDENTIAL}"})
    assert not verdict.allow
    assert any("looks like a literal secret (authorization)" in d for d in verdict.deny)


@pytest.mark.parametrize("scheme", ["GNAP", "PrivateToken", "vapid", "Concealed"])
def test_a_configured_secret_after_the_scheme_is_allowed(engine, scheme):
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "post", "tool": "http.request",
         "args": _headers({"Authorization": f"{scheme} ${{secret:HOOK_TOKEN}}"})}]})
    decision = engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE,
                                                context=NOON))
    assert decision.allow, decision.deny

