"""Ordinary multi-line texts are not read as forms, and markdown is not read as JSON.

A form body never holds a raw line break (``application/x-www-form-urlencoded`` encodes
one as ``%0A``), so a text with a raw CR or LF (a ``.env`` file, a CSV of ``k=v`` cells) is
no form: reading it as one made the first value swallow every later line, and its first
name (``PASSWORD_MIN_LENGTH``) a credential's key. A text is read leniently as JSON only when
it looks like JSON after its opening bracket, never markdown that starts with ``[![``.
"""

from __future__ import annotations

import pytest

from planner.plan import Plan
from policies.encoded_text import decoded_text
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, NOON

ORDINARY_TEXTS = {
    ".env settings": "PASSWORD_MIN_LENGTH=12\nSESSION_TIMEOUT=3600\n",
    ".env ttl": "TOKEN_TTL=3600\nLOG_LEVEL=debug\n",
    ".env backend": "SECRET_BACKEND=vault\nVAULT_ADDR=http://vault:8200\n",
    "CRLF lines": "TOKEN_TTL=3600\r\nLOG_LEVEL=debug\r\n",
    "csv of k=v": "auth=yes,region=eu-west-1,tier=gold\nauth=no,region=us-east-1,tier=free\n",
    "README starting with a badge": (
        "[![CI](https://ci.example.com/badge.svg)](https://ci.example.com)\n\nConfigure:\n\n"
        '```json\n{"token_url": "https://auth.example.com/oauth2/token"}\n```\n'),
    "a markdown link first": '[see](https://x.example) and {"token_url": "https://a.example/t"}',
}


def _secret_denials(engine, text: str) -> list[str]:
    plan = Plan.model_validate({"goal": "write it", "steps": [
        {"id": "w", "tool": "files.write", "args": {"path": "out.txt", "text": text}}]})
    doc = build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON)
    return [reason for reason in engine.decide(doc).deny if "secret" in reason]


@pytest.mark.parametrize("text", ORDINARY_TEXTS.values(), ids=ORDINARY_TEXTS.keys())
def test_an_ordinary_multi_line_text_is_not_a_literal_secret(engine, text):
    assert _secret_denials(engine, text) == []


@pytest.mark.parametrize("text", ORDINARY_TEXTS.values(), ids=ORDINARY_TEXTS.keys())
def test_an_ordinary_multi_line_text_encodes_nothing(text):
    assert decoded_text(text) is None


def test_a_form_ending_in_a_line_break_is_still_a_form():
    # The break is outside the form: the blanks around a text are no part of it.
    assert decoded_text("user=bob&password=x\r\n") == ("form", {"user": "bob", "password": "x"})


def test_an_encoded_line_break_in_a_form_is_a_value():
    assert decoded_text("note=a%0Ab&x=1") == ("form", {"note": "a\nb", "x": "1"})


@pytest.mark.parametrize("text", [
    '[ "a", "b",]', '{ "a": "b",}', '[{"a": "b"},]', '[[ "a"],]', '[1, "a",]', '[-1, "a",]',
    '[true, "a",]', '[false, "a",]', '[null, "a",]', '{}\n{"a": "b"}', '[]\n["a"]',
    '{\n\t"a": "b",\n}',
])
def test_a_json_looking_text_is_still_read_leniently(text):
    found = decoded_text(text)
    assert found is not None and found[0] == "lenient JSON", found


@pytest.mark.parametrize("text", ["[![CI](x)](y) {\"token\": \"v\"}", "[x] {\"a\": \"b\"}",
                                  "{% if x %}\"a\": \"b\"", "[see](u) \"a\": \"b\""])
def test_a_text_that_does_not_look_like_json_is_not_read_as_json(text):
    assert decoded_text(text) is None
