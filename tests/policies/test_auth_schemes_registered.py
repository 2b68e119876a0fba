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



# Credentials written as a list of parameters after their scheme: each value is judged.
DIGEST = ('Digest username="svc", realm="Our API", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
          'uri="/x", response="6629fae49393a05397450978507c4ef1", qop=auth, nc=00000001')
OAUTH = ('OAuth oauth_consumer_key="ops", oauth_signature_method="HMAC-SHA1", '
         'oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", oauth_version="1.0"')
AWS = ("AWS4-HMAC-SHA256 Credential=ops/20130524/us-east-1/s3/aws4_request, "
       "SignedHeaders=host;range;x-amz-date, "
       "Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024")
SIGNATURE = ('Signature keyId="ops-key",algorithm="hmac-sha256",headers="(request-target) date",'
             'signature="qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0="')


@pytest.mark.parametrize("written", [DIGEST, OAUTH, AWS, SIGNATURE])
def test_a_literal_credential_in_a_parameter_list_is_denied(engine, written):
    decision = _decide(engine, {"Authorization": written})
    assert any("step post: argument $.args.headers.Authorization" in d for d in decision.deny), \
        decision.deny
    assert not any(value in d for d in decision.deny + decision.notes
                   for value in ("6629fae4", "GmHxMAgY", "fe5f80f7", "qdx+H7PH"))


def test_a_parameter_list_credential_is_denied_at_run_time(engine):
    verdict = _check(engine, {"Authorization": OAUTH})
    assert any("looks like a literal secret (authorization)" in d for d in verdict.deny)


@pytest.mark.parametrize("written", [
    'Digest username="svc", realm="Our API", uri="/x", response="${secret:HOOK_TOKEN}"',
    'OAuth oauth_consumer_key="ops", oauth_token="${secret:HOOK_TOKEN}", oauth_version="1.0"',
])
def test_parameters_written_as_configured_secrets_short_words_and_phrases_are_allowed(engine, written):
    decision = _decide(engine, {"Authorization": written})
    assert decision.allow, decision.deny


@pytest.mark.parametrize("written", [
    'Digest username="s\\"vc", uri="/x", response="6629fae49393a05397450978507c4ef1"',
    'Digest username="svc", uri="/x", response="6629fae49393a05397450978507c4ef1", userhash',
])
def test_a_quoted_pair_or_a_bare_flag_keeps_the_list_judged(engine, written):
    decision = _decide(engine, {"Authorization": written})
    assert any("step post: argument $.args.headers.Authorization" in d for d in decision.deny), \
        decision.deny
