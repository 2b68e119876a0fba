"""The keywords of a `[[tools.http]]` input or output schema: each honoured, or refused by name.

A keyword pydantic could not build (a pattern its regex engine refuses, a bound of the
wrong type) crashed every command with a traceback; one that does not fit its property's
type (a pattern on an integer, a minimum on a string) was dropped or leaked into the
schema as a pydantic name (``ge``) and failed every call.
"""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from tests.support import Reply
from tools import ToolContext, ToolDefinitionError, ToolRegistry
from tools.http_endpoint import register_http_tool


def _register(prop: dict, *, registry: ToolRegistry | None = None, url: str = "http://127.0.0.1/",
              required: bool = True) -> ToolRegistry:
    registry = registry or ToolRegistry()
    schema = {"type": "object", "properties": {"id": prop}, "required": ["id"] if required else []}
    register_http_tool(registry, name="crm.lookup", url=url, method="GET",
                       description="Look up.", input_schema=schema)
    return registry


def _refusal(prop: dict, **kwargs) -> str:
    with pytest.raises(ToolDefinitionError) as caught:
        _register(prop, **kwargs)
    text = str(caught.value)
    assert "crm.lookup" in text and "property 'id" in text, text  # 'id' or its items 'id[]'
    return text


@pytest.mark.parametrize(("prop", "problem"), [
    ({"type": "string", "pattern": "("}, "pattern '(' is not a valid regular expression"),
    ({"type": "string", "pattern": "^(?!admin).*$"}, "look-around"),
    ({"type": "string", "pattern": r"^(\w)\1$"}, "backreferences are not supported"),
    ({"type": "string", "pattern": 5}, "pattern must be a string"),
    ({"type": "string", "minLength": "3"}, "minLength must be a whole number of 0 or more"),
    ({"type": "string", "maxLength": -1}, "maxLength must be a whole number of 0 or more"),
    ({"type": "string", "maxLength": True}, "maxLength must be a whole number of 0 or more"),
    ({"type": "integer", "minimum": "1"}, "minimum must be a number"),
    ({"type": "number", "maximum": float("nan")}, "maximum must be a number"),
    ({"type": "array", "minItems": 1.5}, "minItems must be a whole number of 0 or more"),
])
def test_a_keyword_pydantic_cannot_build_is_refused_naming_the_property(prop, problem):
    text = _refusal(prop)
    assert problem in text, text


def test_a_lookaround_is_said_to_be_unsupported():
    text = _refusal({"type": "string", "pattern": "^(?!admin).*$"})
    assert "is not supported" in text, text


@pytest.mark.parametrize(("prop", "keyword"), [
    ({"type": "integer", "pattern": "^[0-9]+$"}, "pattern"),
    ({"type": "string", "minimum": 3}, "minimum"),
    ({"type": "boolean", "maxLength": 3}, "maxLength"),
    ({"type": "string", "items": {"type": "string"}}, "items"),
    ({"type": "object", "minItems": 1}, "minItems"),
    ({"type": ["string", "null"], "maximum": 3}, "maximum"),
])
def test_a_keyword_that_does_not_fit_the_type_is_refused(prop, keyword):
    text = _refusal(prop)
    assert f"{keyword} does not apply to" in text, text


@pytest.mark.parametrize(("prop", "problem"), [
    ({"type": "array", "items": "string"}, "items must be a schema object"),
    ({"type": "array", "items": {"type": "string", "minimum": 1}}, "minimum does not apply to"),
    ({"type": "integer", "default": "x"}, "default 'x' does not fit"),
    ({"type": "string", "default": 3}, "default 3 does not fit"),
    ({"type": "integer", "minimum": 1, "default": 0}, "default 0 does not fit"),
    ({"type": "string", "enum": ["a", 1]}, "enum value 1 does not fit"),
    ({"enum": ["a", "b"], "maxLength": 1}, "maxLength does not apply beside enum"),
    ({"enum": [["a"], {"b": 1}]}, "enum values must be strings, numbers, booleans or null"),
    ({"type": []}, "type must be"),
    ({"description": "no type"}, "give a type"),
])
def test_items_defaults_and_enums_are_checked_against_the_type(prop, problem):
    text = _refusal(prop, required=False)
    assert problem in text, text


@pytest.mark.parametrize(("prop", "where"), [
    ({"enum": ["a", float("nan")]}, "enum"),
    ({"type": "number", "enum": [1.0, float("inf")]}, "enum"),
    ({"type": "number", "default": float("nan")}, "default"),
    ({"type": "number", "default": float("-inf")}, "default"),
    ({"type": "number", "examples": [1.0, float("nan")]}, "examples"),
])
def test_a_value_json_cannot_carry_is_refused_not_published_as_null(prop, where):
    # TOML has nan and inf; JSON has neither: the published schema showed null, which the
    # tool then refused (None is not one of ['a', nan]).
    text = _refusal(prop, required=False)
    assert f"{where} holds" in text and "JSON" in text, text


def test_a_broken_schema_in_baton_toml_is_a_configuration_error_naming_the_table(data_dir, capsys):
    # It crashed every command with a pydantic SchemaError traceback.
    from tests.support.cli_in_process import in_process_baton

    (data_dir / "baton.toml").write_text(
        '[users.root]\nroles = ["admin"]\n[[tools.http]]\nname = "crm.lookup"\n'
        'url = "http://127.0.0.1:9/lookup"\nmethod = "GET"\ndescription = "Look up."\n'
        'input_schema = { type = "object", required = ["id"], '
        'properties = { id = { type = "string", pattern = "(" } } }\n')
    with in_process_baton(capsys) as baton:
        result = baton("--as", "root", "tools", "list")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "tools.http[0] (crm.lookup)" in result.stderr
    assert "property 'id'" in result.stderr and "pattern" in result.stderr


def test_fitting_keywords_are_honoured_and_exported_as_json_schema(http_server):
    registry = _register({"type": ["string", "integer"], "pattern": "^[a-z]+$", "minimum": 2,
                          "description": "A name or a number."}, url=http_server.url("/c"))
    prop = registry.get("crm.lookup").input_schema()["properties"]["id"]
    assert {"type": "string", "pattern": "^[a-z]+$"} in prop["anyOf"]
    assert {"type": "integer", "minimum": 2} in prop["anyOf"]
    assert "'ge'" not in str(prop)
    context = ToolContext(idempotency_key="k")
    for bad in ({"id": "ABC"}, {"id": 1}):
        with pytest.raises(ValidationError):
            asyncio.run(registry.get("crm.lookup").invoke(bad, context))
    http_server.script("/c", Reply(body={"ok": True}))
    for good in ({"id": "abc"}, {"id": 2}):
        asyncio.run(registry.get("crm.lookup").invoke(good, context))
    assert http_server.count("/c") == 2


def test_array_items_keep_their_own_bounds():
    registry = _register({"type": "array", "items": {"type": "string", "maxLength": 2},
                          "maxItems": 3})
    with pytest.raises(ValidationError):
        registry.get("crm.lookup").input_model.model_validate({"id": ["abc"]})
    prop = registry.get("crm.lookup").input_schema()["properties"]["id"]
    assert prop["items"] == {"type": "string", "maxLength": 2} and prop["maxItems"] == 3


def test_a_default_that_fits_is_kept_and_openapi_formats_are_accepted():
    registry = _register({"type": "integer", "format": "int64", "minimum": 1, "default": 10},
                         required=False)
    prop = registry.get("crm.lookup").input_schema()["properties"]["id"]
    assert prop["default"] == 10 and prop["minimum"] == 1
