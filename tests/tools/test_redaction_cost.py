"""Masking looks for a secret's escaped forms only in strings that could hold them: a form
holding a percent escape (``%2F``) or a backslash escape (``\\/``) cannot be in a string
without ``%`` or ``\\``. Every form was looked for in every string, and once secrets held
``/``, ``+`` or ``=`` (eight escaped forms each) masking a large output took 2-3 times as long."""

from __future__ import annotations

from tools.redaction import REDACTED, redact, secret_forms

# Base64-like tokens: "/" and "+" give each a JSON and several percent-encoded forms.
SECRETS = tuple(f"tok{i}Qx9vB2mZ/k+8rW=" for i in range(10))


class _CountedText(str):
    """A string that counts how many substrings are looked for in it."""

    lookups = 0

    def __contains__(self, part: object) -> bool:
        type(self).lookups += 1
        return super().__contains__(part)


def _lookups(text: str) -> int:
    _CountedText.lookups = 0
    redact(_CountedText(text), SECRETS)
    return _CountedText.lookups


def test_plain_text_is_searched_only_for_the_forms_it_could_hold():
    assert all(len(secret_forms(s)) > 5 for s in SECRETS)
    plain = [form for s in SECRETS for form in secret_forms(s) if "%" not in form
             and "\\" not in form]
    assert _lookups("customer 17, paid") == 2 + len(plain)  # the two marks, then those forms


def test_text_with_a_percent_escape_is_searched_for_the_percent_encoded_forms_too():
    with_percent = [form for s in SECRETS for form in secret_forms(s) if "\\" not in form]
    assert _lookups("50% off") == 2 + len(with_percent)


def test_every_form_is_still_masked_where_it_appears():
    for secret in SECRETS:
        for form in secret_forms(secret):
            assert redact(f"a {form} b", SECRETS) == f"a {REDACTED} b", form


def test_an_escaped_form_holding_a_shorter_secret_is_masked_whole():
    short, long = "tok-abcdefgh", "tok-abcdefgh/x+y"
    assert redact("?t=tok-abcdefgh%2Fx%2By&u=tok-abcdefgh", (short, long)) == (
        f"?t={REDACTED}&u={REDACTED}")
    assert redact('{"t": "tok-abcdefgh\\/x+y"}', (short, long)) == f'{{"t": "{REDACTED}"}}'
