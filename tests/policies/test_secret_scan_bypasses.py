"""Shapes of data that hid a literal secret from the secret rules, each denied now as the same
secret written plainly is, before the run and at run time, on both backends:

- resolved data shaped like a reference (``{"ref": "AKIA…"}``): after resolution nothing is a
  reference any more, so at run time it is data;
- a form whose fields the strict reading refused: a leading or trailing ``&``, a field
  without ``=``, a raw space in a value, a ``:`` in a name;
- a JSON text Python's reader refuses or that passes a bound (over 64 KiB, deeper than 64
  levels, an integer of more than 4,300 digits, a byte order mark, several documents one a
  line, a trailing comma): read leniently, its strings each under its nearest key;
- a text three texts deep in a ``body`` text, which the same bytes sent as ``json`` had read.

Ordinary texts stay allowed: the eval corpus's benign bodies, URLs, sentences.
"""

from __future__ import annotations

import json

import pytest

from planner.plan import resolve_references
from policies.step_strings import MAX_STRINGS_PER_STEP, decoded_text, scanned_strings
from tests.support.posted_secrets import (
    AWS_KEY,
    PASSWORD,
    URL,
    check_post,
    decide_post,
    random_denial as _random,
    secret_denial as _secret,
)

def _decide(engine, args, url=URL) -> list[str]:
    return list(decide_post(engine, args, url).deny)


def _check(engine, args) -> list[str]:
    return list(check_post(engine, args).deny)


# Resolved data shaped like a reference.

@pytest.mark.parametrize(("output", "reason"), [
    ({"ref": AWS_KEY}, _secret("$.args.json.ref", "an AWS access key")),
    ({"ref": {"password": PASSWORD}}, _random("$.args.json.ref.password", "password")),
    ([{"ref": "load.text", "token": PASSWORD}], _random("$.args.json[0].token", "token")),
], ids=["a secret as the ref", "a password under ref", "beside a ref"])
def test_resolved_data_shaped_like_a_reference_is_scanned_at_run_time(engine, output, reason):
    resolved = resolve_references({"json": {"ref": "load.json"}}, lambda ref: output)
    assert _check(engine, resolved) == [reason]


def test_a_reference_in_a_plan_is_still_judged_when_resolved_not_before():
    found = scanned_strings({"json": {"ref": "load.json"}}, plan_strings_before=0)
    assert [fact["value"] for fact in found["strings"]] == ["json"]


# Forms.

FORMS = {
    "a leading &": f"&password={PASSWORD}&user=bob",
    "a trailing &": f"password={PASSWORD}&user=bob&",
    "a field without =": f"debug&password={PASSWORD}",
    "a raw space in a value": f"password={PASSWORD}&note=hello world",
    "a colon in a name": f"a:b=1&password={PASSWORD}",
    "over 64 KiB": f"password={PASSWORD}&pad=" + "a" * 70_000,
}


@pytest.mark.parametrize("body", FORMS.values(), ids=FORMS.keys())
def test_a_form_read_as_a_service_reads_it_is_denied(engine, body):
    reason = _random("$.args.body (as form).password", "password")
    assert _decide(engine, {"body": body}) == [reason]
    assert _check(engine, {"body": body}) == [reason]


@pytest.mark.parametrize("text", [
    "https://h.example/?password=x&user=bob",  # a URL: its parameters are judged as a URL's
    "/items?page_token=abc&x=1",
    "#access_token=abc&x=1",
    "the answer is x=1 & y=2",
    "SELECT * FROM users WHERE password_hash = 'abc'",
    "no fields here",
    "=1&=2",
])
def test_texts_that_are_not_forms(text):
    assert decoded_text(text) is None


def test_a_sentence_after_a_field_is_a_value():
    assert decoded_text("x=1 is the answer") == ("form", {"x": "1 is the answer"})


# JSON texts Python's reader refuses, or past a bound.

_PASSWORD_FIRST = '{"password": "%s"' % PASSWORD
LENIENT = _random("$.args.body (as lenient JSON).password", "password")
JSON_TEXTS = {
    "over 64 KiB, the secret first": (
        _PASSWORD_FIRST + ', "pad": "%s"}' % ("a" * 70_000), LENIENT),
    "a sibling 70 levels deep": (_PASSWORD_FIRST + ', "x": %s}' % ("[" * 70 + "]" * 70), LENIENT),
    "a 4,301-digit integer": (_PASSWORD_FIRST + ', "n": %s}' % ("1" * 4301), LENIENT),
    "several documents, one a line": ('{"index": {}}\n' + _PASSWORD_FIRST + "}\n", LENIENT),
    "a trailing comma": (_PASSWORD_FIRST + ", }", LENIENT),
    "a byte order mark": ("\ufeff" + _PASSWORD_FIRST + "}",
                          _random("$.args.body (as JSON).password", "password")),
    "an escaped AWS key beside a deep sibling": (
        '{"k": "\\u0041KIAIOSFODNN7EXAMPLE", "x": %s}' % ("[" * 70 + "]" * 70),
        _secret("$.args.body (as lenient JSON).k", "an AWS access key")),
    "a password in an array, unclosed": (
        '{"auth": {"tokens": ["%s"' % PASSWORD,
        _random("$.args.body (as lenient JSON).tokens", "token")),
}


@pytest.mark.parametrize(("body", "reason"), JSON_TEXTS.values(), ids=JSON_TEXTS.keys())
def test_a_json_text_python_does_not_read_is_read_leniently(engine, body, reason):
    assert _decide(engine, {"body": body}) == [reason]
    assert _check(engine, {"body": body}) == [reason]


def test_a_lenient_reading_pairs_each_string_with_its_nearest_key():
    text = ('{"a": {"b": "x", "c": ["y", {"d": "z"}, "w"]}, "e": 1, "f": "v\\"q", '
            '"g": "\\ud800", }')
    assert decoded_text(text) == ("lenient JSON", {
        "a": "", "b": "x", "c": ["y", "w"], "d": "z", "e": "", "f": 'v"q', "g": "\ud800"})
    assert decoded_text('["k1", "k2"' + "]" * 80) == ("lenient JSON", {"": ["k1", "k2"]})


@pytest.mark.parametrize("text", ["{not json}", "[" * 100 + "]" * 100, "[" + " " * 70_000 + "]",
                                  "{'a': 'python'}"])
def test_a_json_looking_text_without_strings_is_not_read(text):
    assert decoded_text(text) is None


def test_a_long_json_text_of_many_strings_is_over_the_limit_not_judged_in_part(engine):
    rows = [{"id": f"row-{i}"} for i in range(MAX_STRINGS_PER_STEP)]
    denied = _check(engine, {"body": json.dumps(rows)})
    assert len(denied) == 1 and "too many strings to scan for secrets" in denied[0], denied


@pytest.mark.parametrize("body", [
    json.dumps({"rows": [{"name": f"n{i}", "note": "ok"} for i in range(2_000)]}),  # > 64 KiB
    '{"name": "bob", "page": 2,}',
    '{"a": 1}\n{"b": "two"}\n',
])
def test_ordinary_json_texts_read_leniently_are_allowed(engine, body):
    assert _decide(engine, {"body": body}, url="https://ops.hooks.example.com/in") == []


# Levels of decoding are counted per text.

INNER = "data=%7B%22token%22%3A%22" + PASSWORD + "%22%7D"


@pytest.mark.parametrize(("args", "path"), [
    ({"json": {"payload": INNER}}, "$.args.json.payload (as form).data (as JSON).token"),
    ({"body": json.dumps({"payload": INNER})},
     "$.args.body (as JSON).payload (as form).data (as JSON).token"),
], ids=["as json", "as a body text"])
def test_the_same_bytes_get_the_same_verdict_as_json_or_as_a_body_text(engine, args, path):
    assert _decide(engine, args) == [_random(path, "token")]
    assert _check(engine, args) == [_random(path, "token")]
