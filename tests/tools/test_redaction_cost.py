"""Masking runs its pattern (each character of a secret as itself or escaped) only where an
escape could make a secret: text holding no escape's first character (``\\``, ``&``, ``%``)
is searched for the secrets as written, with ``in``, and the pattern is not even compiled;
in a large text holding a few escapes it runs near them only. Every form was looked for in
every string, and once secrets held ``/``, ``+`` or ``=`` (eight escaped forms each) masking
a large output took 2-3 times as long."""

from __future__ import annotations


import pytest

from tools.redaction import REDACTED, _masker, redact, secret_forms

# Base64-like tokens: "/" and "+" give each a JSON and several percent-encoded forms.
SECRETS = tuple(f"tok{i}Qx9vB2mZ/k+8rW=" for i in range(10))


class _CountedText(str):
    """A string that counts how many substrings are looked for in it."""

    lookups = 0

    def __contains__(self, part: object) -> bool:
        type(self).lookups += 1
        return super().__contains__(part)


class _RecordedPattern:
    """A compiled pattern that records how much text each search was given."""

    def __init__(self, pattern) -> None:
        self.pattern, self.searched = pattern, 0

    def finditer(self, text, start, stop):
        self.searched += stop - start
        return self.pattern.finditer(text, start, stop)

    def sub(self, replacement, text):
        self.searched += len(text)
        return self.pattern.sub(replacement, text)


def test_plain_text_is_searched_only_for_the_secrets_as_written():
    secrets = tuple(f"{secret}-plain" for secret in SECRETS)  # a list no test masked with yet
    _CountedText.lookups = 0
    assert redact(_CountedText("customer 17, paid"), secrets) == "customer 17, paid"
    # "\\", "&", "%", then the cut marks ("…", "...": a secret's start or end, cut short);
    # the secrets (their other cases, base64 and hex too) are one search, not made for a text
    # shorter than all of them
    assert _CountedText.lookups == 3 + 2
    assert "pattern" not in vars(_masker(secrets))  # never compiled for plain text


def test_a_large_text_with_a_few_escapes_is_searched_by_the_pattern_near_them_only():
    masker = _masker(SECRETS)
    recorded = _RecordedPattern(masker.pattern)
    vars(masker)["pattern"] = recorded
    try:
        text = "row, " * 20_000 + "50% off &amp; more " + "row, " * 20_000 + SECRETS[3]
        assert redact(text, SECRETS) == text.replace(SECRETS[3], REDACTED)
    finally:
        del vars(masker)["pattern"]
    assert 0 < recorded.searched <= 5 * masker.reach < len(text) / 20


def test_every_form_is_still_masked_where_it_appears():
    for secret in SECRETS:
        for form in secret_forms(secret):
            assert redact(f"a {form} b", SECRETS) == f"a {REDACTED} b", form


def test_an_escaped_form_holding_a_shorter_secret_is_masked_whole():
    short, long = "tok-abcdefgh", "tok-abcdefgh/x+y"
    assert redact("?t=tok-abcdefgh%2Fx%2By&u=tok-abcdefgh", (short, long)) == (
        f"?t={REDACTED}&u={REDACTED}")
    assert redact('{"t": "tok-abcdefgh\\/x+y"}', (short, long)) == f'{{"t": "{REDACTED}"}}'


@pytest.mark.timeout(120)  # a hang guard, not a time limit: backtracking 2**24 ways never ends
def test_a_secret_holding_a_long_run_of_backslashes_is_looked_for_in_linear_time():
    # Were each backslash of the run written either as it is or as its escape "\\\\", a
    # pattern would try every way of reading a run of backslashes in the text: 2**24 here.
    secret = "a" + "\\" * 24 + "b"
    text = ("a" + "\\" * 48 + "c, ") * 200
    assert redact(text, [secret]) == text
    assert redact(text + secret.replace("\\", "\\\\"), [secret]) == text + REDACTED
