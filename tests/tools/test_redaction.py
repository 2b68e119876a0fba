"""The one masking helper: every layer (ledger, run outputs, logs, HTTP errors, the LLM client) uses it."""

from __future__ import annotations

from tools.builtin.http import _EXCERPT_CHARS, status_error
from tools.redaction import REDACTED, redact

SECRET = "tok-9f8e7d6c"


def test_secrets_are_masked_in_nested_values_and_in_dict_keys():
    value = {"headers": {"Authorization": f"Bearer {SECRET}"}, SECRET: [f"x{SECRET}y", 3, None],
             "pair": ("a", SECRET)}
    assert redact(value, [SECRET]) == {
        "headers": {"Authorization": f"Bearer {REDACTED}"}, REDACTED: [f"x{REDACTED}y", 3, None],
        "pair": ["a", REDACTED]}


def test_a_secret_containing_another_is_masked_whole_and_empty_values_are_ignored():
    assert redact(f"{SECRET}-long and {SECRET}", ["", SECRET, f"{SECRET}-long"]) == (
        f"{REDACTED} and {REDACTED}")


def test_without_secrets_the_value_is_returned_as_is():
    value = {"a": [1]}
    assert redact(value, []) is value and redact(value, [""]) is value


def test_an_http_error_excerpt_is_masked_before_it_is_cut():
    # The secret straddles the excerpt's end: cutting first would leave its first half behind.
    body = "x" * (_EXCERPT_CHARS - 5) + SECRET + "y" * 50
    error = status_error(400, "Bad Request", "http://127.0.0.1/x", body, None, [SECRET])
    assert error is not None
    assert SECRET[:5] not in error.message and REDACTED[:5] in error.message
