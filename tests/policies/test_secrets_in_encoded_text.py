"""A secret written inside a JSON or form-encoded text (``body: '{"password": "…"}'``,
``password=…&user=bob``, ``-----BEGIN+RSA+PRIVATE+KEY-----``, ``"\\u0041KIA…"``) is denied as the
same data written as structure is, before the run and at run time, on both backends: the
input lists the text's decoded keys and values too, under a path that says so
(``$.args.body (as JSON).password``). Ordinary JSON and form texts, URLs and sentences are not
read as secrets.
"""

from __future__ import annotations

import json

import pytest

from planner.plan import Plan
from policies.inputs import build_policy_input
from policies.step_strings import MAX_DECODED_TEXT, decoded_text
from tests.support.policy_tools import policy_registry
from tests.support.posted_secrets import (
    AWS_KEY,
    PASSWORD,
    URL,
    check_post as _check,
    decide_post as _decide,
    random_denial as _random,
    secret_denial as _secret,
)
from tests.support.url_credential_cases import ALICE, NOON

IN_TEXT = {
    "a JSON text": ({"body": json.dumps({"password": PASSWORD})},
                    _random("$.args.body (as JSON).password", "password")),
    "a form text": ({"body": f"password={PASSWORD}&user=bob"},
                    _random("$.args.body (as form).password", "password")),
    "a form-encoded private key": (
        {"body": "key=-----BEGIN+RSA+PRIVATE+KEY-----%0AMIIEowIBAAKCAQEA"},
        _secret("$.args.body (as form).key", "a private key")),
    "an escaped AWS key in a JSON text": ({"body": '{"k": "\\u0041KIAIOSFODNN7EXAMPLE"}'},
                                          _secret("$.args.body (as JSON).k", "an AWS access key")),
    "a JSON array text": ({"body": f'[{{"api_key": "{PASSWORD}"}}]'},
                          _random("$.args.body (as JSON)[0].api_key", "api_key")),
    "a name given twice": ({"body": f'{{"token": "{PASSWORD}", "token": "x"}}'},
                          _random("$.args.body (as JSON).token[0]", "token")),
    "a JSON text in a form field": (
        {"json": {"payload": "data=%7B%22token%22%3A%22" + PASSWORD + "%22%7D"}},
        _random("$.args.json.payload (as form).data (as JSON).token", "token")),
}


@pytest.mark.parametrize(("args", "reason"), IN_TEXT.values(), ids=IN_TEXT.keys())
def test_a_secret_in_a_json_or_form_text_is_denied_before_the_run(engine, args, reason):
    decision = _decide(engine, args)
    assert list(decision.deny) == [reason]


@pytest.mark.parametrize(("args", "reason"), IN_TEXT.values(), ids=IN_TEXT.keys())
def test_a_secret_in_a_json_or_form_text_is_denied_at_run_time(engine, args, reason):
    assert list(_check(engine, args).deny) == [reason]


def test_a_secret_written_as_a_key_of_a_json_text_is_not_quoted(engine):
    decision = _decide(engine, {"body": json.dumps({AWS_KEY: {"password": PASSWORD}})})
    assert _random("$.args.body (as JSON).<a secret>.password", "password") in decision.deny
    assert not any(AWS_KEY in line for line in decision.deny)


def test_a_credential_url_in_a_json_text_is_denied(engine):
    body = json.dumps({"callback": f"https://x.example/cb?q=a b&access_token={PASSWORD}"})
    decision = _decide(engine, {"body": body.replace("/", "\\/")})
    assert ("step send: argument $.args.body (as JSON).callback carries a literal credential in "
            "URL parameter access_token; configure it as a secret and send it as ${secret:NAME} "
            "in a header instead") in decision.deny


@pytest.mark.parametrize("args", [
    {"body": json.dumps({"name": "bob", "q": "sales", "page": 2, "tags": ["a", "b"]})},
    {"body": "q=sales+report&page=2&sort_key=created"},
    {"body": json.dumps({"ref": "load.text"})},  # data in a text, no reference
    {"body": json.dumps({"password": "${secret:HOOK_TOKEN}"})},
    {"json": {"note": "x=1 is the answer", "url": "https://h.example/?a=1&b=2"}},
])
def test_ordinary_json_and_form_texts_are_allowed(engine, args):
    decision = _decide(engine, args, url="https://ops.hooks.example.com/in")
    assert not decision.deny, decision.deny


@pytest.mark.parametrize("text", [
    "https://h.example/?password=x&user=bob",  # a URL: its parameters are judged as a URL's
    "/items?page_token=abc&x=1",
    "the answer is x=1 & y=2",
    "{not json}",
    '"a JSON string"',
    "[" * 100 + "]" * 100,  # deeper than read
    "[" + " " * MAX_DECODED_TEXT + "]",  # longer than read
])
def test_texts_that_are_not_read_as_json_or_form(text):
    assert decoded_text(text) is None


def test_a_secret_reference_only_in_a_decoded_text_is_not_a_sent_secret():
    plan = Plan.model_validate({"goal": "post it", "steps": [{
        "id": "send", "tool": "http.request",
        "args": {"method": "POST", "url": URL, "body": '{"k": "\\u0024{secret:HOOK_TOKEN}"}'}}]})
    doc = build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON)
    assert doc["steps"][0]["secret_names"] == []
