"""The one masking helper: every layer (ledger, run outputs, logs, HTTP errors, the LLM client) uses it."""

from __future__ import annotations

import pytest

from tools.builtin.http import _EXCERPT_CHARS, status_error
from tools.redaction import REDACTED, hide_url_credentials, redact, url_secrets

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


@pytest.mark.parametrize(("url", "shown", "secrets"), [
    ("https://user:p%40ss@llm.example/v1?x=1&api_key=k-123",
     "https://user:***@llm.example/v1?x=1&api_key=***",
     ["p%40ss", "p@ss", "k-123"]),
    ("https://ghp_tok123@git.example/repo", "https://***@git.example/repo", ["ghp_tok123"]),
    ("postgresql+psycopg://baton:pw-9@db/baton", "postgresql+psycopg://baton:***@db/baton",
     ["pw-9"]),
    ("postgresql://baton@db/baton", "postgresql://baton@db/baton", []),
    ("http://plain.example/v1?page=2", "http://plain.example/v1?page=2", []),
])
def test_url_credentials_are_hidden_for_display_and_listed_for_masking(url, shown, secrets):
    assert hide_url_credentials(url) == shown
    assert url_secrets(url) == secrets
