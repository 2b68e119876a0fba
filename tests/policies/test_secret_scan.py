"""The literal-secret rule sees every string a step carries, keys included, or it denies.

Plans go through ``build_policy_input`` (and calls through ``build_step_input``) with
the real tool registry, judged by the shipped policies on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from planner.plan import Plan
from policies import step_strings
from policies.contracts import PolicyContext, Requester, StepCall
from policies.inputs import build_policy_input
from policies.step_strings import (
    MAX_STRINGS_PER_STEP,
    MAX_STRINGS_SEEN_PER_STEP,
    iter_strings,
)
from tests.support.policy_tools import policy_registry

ALICE = Requester(id="alice", roles=("analyst",))
NOON = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
URL = "https://api.internal.example/upload"


def _decide(engine, body):
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "send", "tool": "http.request", "args": {"method": "POST", "url": URL, "json": body}}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


def _check(engine, body):
    return engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="send", tool="http.request", effect="write",
        args={"method": "POST", "url": URL, "json": body}, tags=("egress",), requester=ALICE))


def _many_strings_then(secret: str, cap: int = MAX_STRINGS_PER_STEP) -> list[str]:
    return [f"row {i}" for i in range(cap)] + [secret]


@pytest.fixture
def small_caps(monkeypatch):
    """``policies.step_strings`` holding caps of 100 strings a step and 200 a plan (2 steps' worth,
    as the real ones): the caps are counted alike at any size, and the rules take seconds
    to judge 5,000 strings. A call one string over the real cap, and one at it, are judged
    with the real caps below."""
    monkeypatch.setattr(step_strings, "MAX_STRINGS_PER_STEP", 100)
    monkeypatch.setattr(step_strings, "MAX_STRINGS_PER_PLAN", 200)
    return step_strings


def test_secret_written_as_a_dict_key_is_denied_without_quoting_it(engine):
    decision = _decide(engine, {"credentials": {AWS_KEY: "yes"}})
    assert not decision.allow
    assert any("step send:" in d and "an AWS access key" in d for d in decision.deny), decision.deny
    assert not any(AWS_KEY in d for d in decision.deny + decision.notes)


def test_secret_written_as_a_dict_key_is_denied_at_run_time(engine):
    verdict = _check(engine, {AWS_KEY: 1})
    assert not verdict.allow
    assert any("an AWS access key" in d for d in verdict.deny), verdict.deny


# Secrets nested under a secret key: every finding's path passes through the key.
UNDER_A_SECRET_KEY = {AWS_KEY: {"nested": "AKIAI44QH8DHBEXAMPLE", "password": "Zx9!qPw7Lm2#Rt5vBn8"}}
NOT_A_NAME_KEY = "my password is hunter2"


def test_secrets_under_a_secret_key_are_denied_without_quoting_the_key(engine):
    decision = _decide(engine, UNDER_A_SECRET_KEY)
    assert any("looks like a literal secret (password)" in d for d in decision.deny), decision.deny
    assert not any(AWS_KEY in d for d in decision.deny + decision.notes), decision.deny


def test_secrets_under_a_secret_key_are_denied_at_run_time_without_quoting_the_key(engine):
    verdict = _check(engine, UNDER_A_SECRET_KEY)
    assert any("looks like a literal secret (password)" in d for d in verdict.deny), verdict.deny
    assert not any(AWS_KEY in d for d in verdict.deny), verdict.deny


def test_a_key_that_is_not_a_name_is_not_quoted_by_the_sensitive_value_rule(engine):
    decision = _decide(engine, {NOT_A_NAME_KEY: "Zx9!qPw7Lm2#Rt5vBn8"})
    assert any("looks like a literal secret (password)" in d for d in decision.deny), decision.deny
    assert not any("hunter2" in d for d in decision.deny), decision.deny


def test_step_with_more_strings_than_can_be_scanned_is_denied_naming_the_step(
        engine, small_caps):
    decision = _decide(engine, _many_strings_then(AWS_KEY, small_caps.MAX_STRINGS_PER_STEP))
    assert not decision.allow
    assert any(d.startswith("step send: too many strings to scan for secrets")
               for d in decision.deny), decision.deny


def test_call_with_more_strings_than_can_be_scanned_is_denied_at_run_time(engine):
    verdict = _check(engine, _many_strings_then("harmless"))
    assert not verdict.allow
    assert any(d.startswith("step send: too many strings to scan for secrets")
               for d in verdict.deny), verdict.deny


def _decide_steps(engine, bodies):
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": f"send{j}", "tool": "http.request", "args": {"method": "POST", "url": URL, "json": body}}
        for j, body in enumerate(bodies)]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


def test_plan_whose_steps_together_hold_more_strings_than_can_be_scanned_is_denied(
        engine, small_caps):
    # Each step is within its own cap; together they pass the plan's, which the third spends.
    per_step = small_caps.MAX_STRINGS_PER_STEP * 9 // 10
    assert 2 * per_step < small_caps.MAX_STRINGS_PER_PLAN < 3 * per_step
    bodies = [[f"r{j}-{i}" for i in range(per_step)] for j in range(4)]
    decision = _decide_steps(engine, bodies)
    assert not decision.allow
    reason = (f"too many strings to scan for secrets (the plan's steps up to this one hold more "
              f"than {small_caps.MAX_STRINGS_PER_PLAN} distinct strings)")
    assert any(d.startswith(f"step send2: {reason}") for d in decision.deny), decision.deny
    assert any(d.startswith(f"step send3: {reason}") for d in decision.deny), decision.deny
    assert not any(d.startswith(("step send0:", "step send1:")) for d in decision.deny), decision.deny
    assert not any("r2-" in d or "r3-" in d for d in decision.deny), decision.deny


def test_step_over_its_own_cap_is_denied_saying_so(engine, small_caps):
    cap = small_caps.MAX_STRINGS_PER_STEP
    decision = _decide(engine, _many_strings_then("harmless", cap))
    assert any(f"(more than {cap} distinct strings in its arguments)" in d
               for d in decision.deny), decision.deny


def test_step_repeating_one_string_past_the_iteration_cap_is_denied(engine):
    body = ["same value"] * (MAX_STRINGS_SEEN_PER_STEP + 10_000)
    for deny in (_decide(engine, body).deny, _check(engine, body).deny):
        assert any(d.startswith("step send: too many strings to scan for secrets (more than "
                                f"{MAX_STRINGS_SEEN_PER_STEP} strings in its arguments)")
                   for d in deny), deny
        assert not any("same value" in d for d in deny), deny


def test_step_with_exactly_as_many_strings_as_can_be_scanned_is_judged_normally(engine):
    # The argument names and the method and URL count too: the body fills the rest.
    fixed = len(list(iter_strings({"method": "POST", "url": URL, "json": []})))
    body = [f"row {i}" for i in range(MAX_STRINGS_PER_STEP - fixed)]
    assert _check(engine, body).allow


def _table(rows: int) -> list[dict[str, str]]:
    return [{"region": ("north", "south")[i % 2], "customer": f"customer {i}", "total": str(i * 7)}
            for i in range(rows)]


def test_a_table_of_a_thousand_rows_is_scanned_whole_and_judged(engine):
    # 6,000 strings, but the keys repeat on every row and count once.
    assert len(list(iter_strings({"rows": _table(1_000)}))) > MAX_STRINGS_PER_STEP
    assert _check(engine, {"rows": _table(1_000)}).allow


def test_a_secret_in_the_last_row_of_a_large_table_is_found(engine):
    rows = _table(1_000)
    rows[-1]["note"] = AWS_KEY
    verdict = _check(engine, {"rows": rows})
    assert not verdict.allow
    assert any("argument $.args.json.rows[999].note contains an AWS access key" in d
               for d in verdict.deny), verdict.deny


def test_a_repeated_secret_is_reported_at_its_first_place(engine):
    verdict = _check(engine, [{"token": "x"}, {"k": AWS_KEY}, {"k": AWS_KEY}])
    assert [d for d in verdict.deny if "AWS access key" in d] == [
        "step send: argument $.args.json[1].k contains an AWS access key; configure it as a "
        "secret and write ${secret:NAME} instead"]


# Literal credentials in the header and body names services use. The sensitive names are read
# case and separators aside (X-API-Key, api-key and apiKey all read as api_key), a short name
# as the key's last words (X-Auth, db_pwd), and an Authorization value after its scheme.
HEX_KEY = "a8f5f167f44f4964e6c998dee827110c"
RANDOM = "Zk3x9QpL2mWv8RtY6nBc4HsJ"
HOOK = "https://x.hooks.example.com/in"


def _decide_call(engine, *, url=URL, headers=None, body=None):
    args = {"method": "POST", "url": url}
    if headers is not None:
        args["headers"] = headers
    if body is not None:
        args["json"] = body
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "send", "tool": "http.request", "args": args}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


def _check_call(engine, *, url=URL, headers=None, body=None):
    args = {"method": "POST", "url": url, "headers": headers or {}, "json": body or {}}
    return engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="send", tool="http.request", effect="write",
        args=args, tags=("egress",), requester=ALICE))


@pytest.mark.parametrize(("name", "value", "word"), [
    ("X-API-Key", HEX_KEY, "api_key"),
    ("api-key", RANDOM, "api_key"),
    ("apiKey", RANDOM, "api_key"),
    ("Authorization", "Basic YWxpY2U6c3VwZXJzZWNyZXRwYXNzd29yZA==", "authorization"),
    ("Authorization", f"Token {HEX_KEY}", "authorization"),
    ("Authorization", f"token {HEX_KEY}", "authorization"),
    ("Proxy-Authorization", f"Basic {RANDOM}", "authorization"),
    ("Cookie", f"sessionid={HEX_KEY}", "cookie"),
    ("Cookie", f"theme=dark; sessionid={HEX_KEY}; lang=en", "cookie"),
    ("X-Auth", HEX_KEY, "auth"),
    ("Ocp-Apim-Subscription-Key", HEX_KEY, "key"),
    ("X-Auth-Token", HEX_KEY, "token"),
])
def test_a_literal_credential_in_a_common_header_is_denied_without_its_value(engine, name, value,
                                                                             word):
    reason = (f"step send: argument $.args.headers.{name} looks like a literal secret ({word}); "
              "configure it as a secret and write ${secret:NAME} instead")
    for deny in (_decide_call(engine, headers={name: value}).deny,
                 _check_call(engine, headers={name: value}).deny):
        assert reason in deny, deny
        assert not any(HEX_KEY in d or RANDOM in d or "YWxp" in d for d in deny), deny


@pytest.mark.parametrize(("name", "word"), [
    ("pwd", "pwd"), ("pass", "pass"), ("auth", "auth"), ("key", "key"), ("db_pwd", "pwd"),
    ("userPass", "pass"), ("basicAuth", "auth"), ("client_secret", "secret"),
])
def test_a_literal_credential_under_a_common_body_name_is_denied(engine, name, word):
    decision = _decide_call(engine, body={"user": "svc", name: "Zk3x9QpL2mWv8RtY"})
    assert not decision.allow
    assert (f"step send: argument $.args.json.{name} looks like a literal secret ({word}); "
            "configure it as a secret and write ${secret:NAME} instead") in decision.deny, \
        decision.deny


@pytest.mark.parametrize(("headers", "body"), [
    ({"Authorization": "Bearer ${secret:HOOK_TOKEN}"}, None),
    ({"Authorization": "Token ${secret:HOOK_TOKEN}"}, None),
    ({"X-API-Key": "${secret:HOOK_TOKEN}"}, None),
    ({"Cookie": "theme=dark; sessionid=${secret:HOOK_TOKEN}"}, None),
    ({"Authorization": "Basic ${secret:HOOK_TOKEN}"}, {"pass": "${secret:HOOK_TOKEN}"}),
    ({"X-Auth": "${secret:HOOK_TOKEN}:${secret:HOOK_TOKEN}"}, None),
])
def test_configured_secret_references_under_credential_names_are_allowed(engine, headers, body):
    decision = _decide_call(engine, url=HOOK, headers=headers, body=body)
    assert decision.allow, decision.deny
    assert _check_call(engine, url=HOOK, headers=headers, body=body).allow


# Names that end like a credential's but hold no secret, with values random enough to be one,
# and words the short names are part of (author, bypass, oauth_url): none is a literal secret.
@pytest.mark.parametrize("body", [
    {"Idempotency-Key": "9f1c2e7a-4b3d-4e5f-8a9b-0c1d2e3f4a5b"},
    {"idempotencyKey": "9f1c2e7a-4b3d-4e5f-8a9b-0c1d2e3f4a5b"},
    {"public_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"},
    {"sort_key": "created_at_desc_2024", "partitionKey": "eu-west-1-tenant-42"},
    {"cache_key": "reports:2024-06:sales", "object_key": "reports/2024/06/sales.csv"},
    {"author": "alice.smith@example.com", "bypass": "maintenance-window-7"},
    {"authorization_url": "https://auth.example.com/oauth2/authorize", "keyword": "sales-2024-q2"},
    {"password_policy": "rotate monthly", "auth_method": "client_secret_basic"},
])
def test_ordinary_values_under_names_like_a_credentials_are_not_secrets(engine, body):
    decision = _decide_call(engine, body=body)
    assert decision.allow, decision.deny


@pytest.mark.parametrize("written", [
    "${secret:HOOK_TOKEN}" + RANDOM, "${secret:HOOK_TOKEN} " + RANDOM,
    f"Bearer ${{secret:HOOK_TOKEN}}{RANDOM}"])
def test_a_literal_written_beside_a_secret_reference_is_still_judged(engine, written):
    headers = {"X-Refresh-Token": written}
    body = {"password": "x${secret:HOOK_TOKEN}" + RANDOM}
    for deny in (_decide_call(engine, url=HOOK, headers=headers, body=body).deny,
                 _check_call(engine, url=HOOK, headers=headers, body=body).deny):
        assert ("step send: argument $.args.headers.X-Refresh-Token looks like a literal secret "
                "(token); configure it as a secret and write ${secret:NAME} instead") in deny, deny
        assert ("step send: argument $.args.json.password looks like a literal secret "
                "(password); configure it as a secret and write ${secret:NAME} instead"
                ) in deny, deny
        assert not any(RANDOM in d for d in deny), deny


@pytest.mark.parametrize("url", [
    f"https://{HEX_KEY}@api.internal.example/a",
    "https://svc@api.internal.example/a",
    "https://${secret:HOOK_TOKEN}@x.hooks.example.com/in",
])
def test_a_url_carrying_a_user_or_token_before_its_host_is_denied(engine, url):
    # httpx sends the user information as Basic authentication, password or not.
    reason = ("step send: its URL carries credentials before the host (user@host), which would "
              "be sent as Basic authentication; configure them as a secret and send them as "
              "${secret:NAME} in a header instead")
    for deny in (_decide_call(engine, url=url).deny, _check_call(engine, url=url).deny):
        assert reason in deny, deny
        assert not any(HEX_KEY in d for d in deny), deny
