"""A ``[[tools.http]]`` table's booleans and numbers take TOML booleans and numbers only.

Before, ``idempotent = "no"`` (or ``"yes"``, or ``1``) was read loosely as a boolean, so a
table meaning "not idempotent" could be registered as idempotent (and retried after a
timeout); ``timeout_s = "30"``, ``max_response_bytes = true`` and ``retry = { max_attempts
= "5" }`` passed as numbers. Each is now refused naming the table and the field.
"""

from __future__ import annotations

import tomllib

import pytest

from tools import RetryPolicy, ToolDefinitionError, ToolRegistry
from tools.http_endpoint import load_http_tools, register_http_tool

TABLE = """
[[tools.http]]
name = "crm.note"
url = "https://api.internal.example/notes"
description = "Add a note to a customer."
"""


def tables(extra: str) -> list[dict]:
    """The ``[[tools.http]]`` tables of ``TABLE`` plus ``extra`` lines, as TOML reads them."""
    return tomllib.loads(TABLE + extra)["tools"]["http"]


def refused(extra: str) -> str:
    with pytest.raises(ToolDefinitionError) as caught:
        load_http_tools(ToolRegistry(), tables(extra))
    text = str(caught.value)
    assert "tools.http[0] (crm.note)" in text, text
    return text


@pytest.mark.parametrize(("line", "field", "said"), [
    ('idempotent = "yes"', "idempotent", "a valid boolean, not a string"),
    ('idempotent = "no"', "idempotent", "a valid boolean, not a string"),
    ('idempotent = "true"', "idempotent", "a valid boolean, not a string"),
    ("idempotent = 1", "idempotent", "a valid boolean, not a number"),
    ("idempotent = 0", "idempotent", "a valid boolean, not a number"),
    ('idempotent = ["x"]', "idempotent", "a valid boolean, not an array"),
    ('timeout_s = "30"', "timeout_s", "a valid number, not a string"),
    ("timeout_s = true", "timeout_s", "a valid number, not true or false"),
    ('max_response_bytes = "1024"', "max_response_bytes", "a valid integer, not a string"),
    ("max_response_bytes = true", "max_response_bytes", "a valid integer, not true or false"),
    ("max_response_bytes = 1024.0", "max_response_bytes", "a valid integer"),
    ('retry = { max_attempts = "5" }', "retry.max_attempts", "a valid integer, not a string"),
    ("retry = { max_attempts = true }", "retry.max_attempts", "a valid integer, not true or"),
    ('retry = { jitter = "0.1" }', "retry.jitter", "a valid number, not a string"),
    ("retry = { initial_backoff_s = true }", "retry.initial_backoff_s", "a valid number, not"),
])
def test_a_boolean_or_number_of_the_wrong_type_is_refused_naming_the_field(line, field, said):
    text = refused(line + "\n")
    assert f"{field}: Input should be {said}" in text, text


def test_every_wrongly_typed_field_is_reported_at_once():
    text = refused('idempotent = "no"\ntimeout_s = "30"\nretry = { max_attempts = "5" }\n')
    for field in ("idempotent", "timeout_s", "retry.max_attempts"):
        assert f"{field}: " in text, (field, text)


def test_toml_native_values_still_register():
    registry = ToolRegistry()
    load_http_tools(registry, tables(
        'idempotent = true\ntimeout_s = 5\nmax_response_bytes = 1024\neffect = "write"\n'
        'tags = ["crm"]\nsecrets = ["CRM"]\nheaders = { Authorization = "Bearer ${secret:CRM}" }\n'
        "retry = { max_attempts = 5, initial_backoff_s = 1, multiplier = 1.5, jitter = 0 }\n"))
    spec = registry.get("crm.note")
    assert spec.idempotent is True and spec.timeout_s == 5.0
    assert spec.tags == ("egress", "network", "crm") and spec.secrets == ("CRM",)
    assert type(spec.retry) is RetryPolicy
    assert spec.retry == RetryPolicy(max_attempts=5, initial_backoff_s=1, multiplier=1.5, jitter=0)


def test_a_timeout_written_as_a_float_is_kept():
    registry = ToolRegistry()
    load_http_tools(registry, tables("timeout_s = 2.5\n"))
    assert registry.get("crm.note").timeout_s == 2.5


def test_a_retry_policy_built_in_python_is_still_taken():
    policy = RetryPolicy(max_attempts=4)
    spec = register_http_tool(ToolRegistry(), name="crm.note", url="https://api.example/n",
                              description="Note.", retry=policy, secrets=["A"], tags=["crm"],
                              headers={"X-Key": "${secret:A}"})
    assert spec.retry == policy and type(spec.retry) is RetryPolicy
