"""Identifiers, locations and kinds of secrets under credential-like keys are not secrets.

The literal-secret rule judges a value under a key holding token, secret, password… (or
ending in key) by its length and entropy, which ordinary URLs, paths and names pass: S3's
``Key: 2024/q1/sales-report.csv``, ``token_url: https://auth.example.com/oauth/token`` and
``SecretId: prod/db/password-rotation`` were denied. Under a key naming a location (its last
word url, id, endpoint, file, arn…, or S3's Key), a URL with no user information made of
ordinary words, a path of several segments of ordinary words and an AWS ARN are not
random-looking secrets; a key ending with an ordinary name (``token_type``,
``passphrase_hint``, ``tokenizer``) names what the value is, not a credential. A random value
under such keys, a URL carrying a credential, a token as a URL's scheme or host or as an
ARN's resource, a lower-case token (no vowel, or longer than a word) and a memorable password
are still denied.
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
URL = "https://api.internal.example/apps"
RANDOM = "Zk3x9QpLmN7vB2XyTq8WcR4sD6fG1hJ0kL5nM2pQ"  # 40 random-looking characters


def _decide(engine, body):
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "post", "tool": "http.request", "args": {"method": "POST", "url": URL, "json": body}}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


def _check(engine, body):
    return engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="post", tool="http.request", effect="write",
        args={"method": "POST", "url": URL, "json": body}, tags=("egress",), requester=ALICE))


ORDINARY = {
    "s3 object key": {"Bucket": "reports", "Key": "2024/q1/sales-report.csv"},
    "token url": {"name": "crm-sync", "token_url": "https://auth.example.com/oauth/token"},
    "secret id path": {"SecretId": "prod/db/password-rotation"},
    "secret id arn": {"SecretId": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"},
    "token endpoint": {"tokenEndpoint": "https://login.example.com/oauth2/v2.0/token"},
    "password reset url": {"password_reset_url": "https://accounts.example.com/password/reset?step=1"},
    "token url with a port": {"token_url": "http://keycloak.internal:8080/realms/ops/protocol/openid-connect/token"},
    "tokenizer": {"tokenizer": "bert-base-uncased-v2"},
    "credential type": {"credential_type": "service_account"},
    "token type urn": {"token_type": "urn:ietf:params:oauth:token-type:jwt"},
    "passphrase hint": {"passphrase_hint": "firstpet_birthyear"},
    "password file path": {"POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password"},
    "token endpoint path": {"token_endpoint": "/oauth/token"},
    "secrets manager arn with its random suffix": {
        "SecretId": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db/password-AbCdEf"},
    "secrets manager arn without a suffix": {
        "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db/password"},
    "a long word in a host": {"token_url": "https://login.microsoftonline.com/common/oauth2/token"},
    "host labels joined by dashes": {"token_url": "https://api-gateway.eu-west-1.example.com/v1/token"},
    "numeric host": {"token_url": "http://10.0.0.12:8080/auth/token"},
}


@pytest.mark.parametrize("body", ORDINARY.values(), ids=ORDINARY.keys())
def test_identifiers_and_locations_of_secrets_are_allowed(engine, body):
    decision = _decide(engine, body)
    assert not decision.deny, decision.deny


@pytest.mark.parametrize("body", [ORDINARY["s3 object key"], ORDINARY["token url"]],
                         ids=["s3 object key", "token url"])
def test_they_are_allowed_at_run_time_too(engine, body):
    verdict = _check(engine, body)
    assert verdict.allow, verdict.deny


STILL_SECRETS = {
    "token beside a token type": ({"token_type": "Bearer", "token": RANDOM}, "(token)"),
    "api key": ({"api_key": "sk-" + RANDOM}, "an API key"),
    "random s3-like key": ({"Key": RANDOM}, "(key)"),
    "random secret id": ({"SecretId": RANDOM}, "(secret)"),
    "password in a token url": (
        {"token_url": f"https://ops:{RANDOM}@auth.example.com/oauth/token"}, "password inside a URL"),
    "token before the host of a token url": (
        {"token_url": f"https://{RANDOM}@auth.example.com/oauth/token"}, "(token)"),
    "credential in the query of a token url": (
        {"token_url": f"https://auth.example.com/oauth/token?access_token={RANDOM}"},
        "URL parameter access_token"),
    "token in the path of a token url": (
        {"bot_token_url": f"https://api.telegram.org/bot123456:{RANDOM}/sendMessage"}, "(token)"),
    "webhook secret in a path": (
        {"webhook_secret": f"https://hooks.example.com/services/T0123/B0456/{RANDOM}"}, "(secret)"),
    "random path segments": ({"secret": "Zk3x/9QpL/mN7vB2Xy"}, "(secret)"),
    "hex path segments": ({"secret_path": "3f9a1c0d7e/2b7e5a41c9"}, "(secret)"),
    "memorable password": ({"password": "carve-quill-ample-stove"}, "(password)"),
    "csrf token": ({"csrf_token": RANDOM}, "(token)"),
    "password ending with type as one word": ({"passwordtype": RANDOM}, "(password)"),
    # A URL's host, scheme or an ARN's resource part is no hiding place either.
    "token as the host of a url": ({"api_token": f"https://{RANDOM}"}, "(token)"),
    "token as a host label": ({"api_token": f"https://{RANDOM}.example.com/v1/send"}, "(token)"),
    "token as the scheme of a url": ({"api_token": f"{RANDOM}://x"}, "(token)"),
    "token as an arn's resource": ({"db_password": f"arn:aws:x::1:{RANDOM}"}, "(password)"),
    "token in an arn's path": (
        {"secret_arn": f"arn:aws:secretsmanager:eu-west-1:1:secret:prod/{RANDOM}"}, "(secret)"),
    "random suffix of the wrong length": (
        {"SecretId": "arn:aws:secretsmanager:eu-west-1:1:secret:prod/db-Zk3x9QpLmN7v"}, "(secret)"),
    # Lower-case letters alone make a word only up to 15 of them (microsoftonline) and, from
    # 4 letters on, with a vowel (y counting): a lower-case token is no word.
    "long lower-case token in a url's path": (
        {"webhook_secret": "https://hooks.example.com/services/kqzjxvbwtyrpmnhgfdsa"}, "(secret)"),
    "16 lower-case letters as a host label": (
        {"api_token": "https://kqzjxvbwtarpmnhg.example.com/v1"}, "(token)"),
    "short lower-case token without a vowel": (
        {"webhook_secret": "https://hooks.example.com/services/xkqzpwtrvb"}, "(secret)"),
    "short lower-case tokens without a vowel in a path": (
        {"secret_path": "prod/xkqzpw/tbnrcd"}, "(secret)"),
    "capitals without a vowel": ({"secret_path": "prod/db/XKQZPWTRVB"}, "(secret)"),
    "lower-case token without a vowel as a host label": (
        {"token_url": "https://xkqzpwtrvb.example.com/oauth/token"}, "(token)"),
    "other scheme": ({"token_url": "ftp://files.example.com/oauth/token"}, "(token)"),
    # Under a key naming the credential itself, a location is judged like any value: a
    # short lower-case token can pass for a word (a vowel, at most 15 letters).
    "short lower-case token with a y in a webhook secret": (
        {"webhook_secret": "https://hooks.example.com/services/kqzjxvbwtyrpmnh"}, "(secret)"),
    "lower-case token as the host of an api token": (
        {"api_token": "https://kqzjxvbwtyrpmnh"}, "(token)"),
    "lower-case token and digits as a host label": (
        {"api_token": "https://qzjxvbwtyrpmnhk48213975.example.com"}, "(token)"),
    "capital tokens in a path": (
        {"api_token": "https://hooks.example.com/services/QZJXVBWTYRPMNHK/GFDSAZXCVBNMLKJ"},
        "(token)"),
    "word-like token as an arn's resource under a password key": (
        {"db_password":
         "arn:aws:secretsmanager:us-east-1:123456789012:secret:kqzjxvbwtyrpmnh-Zk3x9Q"},
        "(password)"),
    "two lower-case tokens as a path": ({"api_token": "qzjxvbwtyrpm/hnkgfdsazxcv"}, "(token)"),
}


@pytest.mark.parametrize("body, found", STILL_SECRETS.values(), ids=STILL_SECRETS.keys())
def test_real_looking_secrets_under_such_keys_are_still_denied(engine, body, found):
    decision = _decide(engine, body)
    assert not decision.allow
    assert any(found in d for d in decision.deny), decision.deny
    assert not any(RANDOM in d for d in decision.deny + decision.notes)


def test_a_random_token_beside_a_token_url_is_still_denied_at_run_time(engine):
    verdict = _check(engine, {"token_url": "https://auth.example.com/oauth/token",
                              "client_secret": RANDOM})
    assert not verdict.allow
    assert any("$.args.json.client_secret looks like a literal secret (secret)" in d
               for d in verdict.deny), verdict.deny
    assert not any("token_url" in d for d in verdict.deny), verdict.deny
