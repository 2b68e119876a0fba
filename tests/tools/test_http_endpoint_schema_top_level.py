"""The top level of a `[[tools.http]]` input or output schema: each keyword honoured or refused.

``required`` was read with ``set()``: ``5``, ``true`` or ``[["id"]]`` crashed every command
with a TypeError traceback, and ``"ab"`` silently required ``a`` and ``b``. A keyword the
model is not built from (``minProperties``, ``patternProperties``, ``$ref``) was dropped.
"""

from __future__ import annotations

import pytest

from tools import ToolDefinitionError, ToolRegistry
from tools.http_endpoint import register_http_tool

_PROPERTIES = {"a": {"type": "string"}, "b": {"type": "string"}}


def _register(*, input_schema: dict | None = None, output_schema: dict | None = None):
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.lookup", url="http://127.0.0.1/", method="GET",
                       description="Look up.",
                       input_schema=input_schema or {"type": "object", "properties": {}},
                       output_schema=output_schema)
    return registry.get("crm.lookup")


def _refusal(**schemas) -> str:
    with pytest.raises(ToolDefinitionError) as caught:
        _register(**schemas)
    text = str(caught.value)
    assert "crm.lookup" in text, text
    return text


@pytest.mark.parametrize(("required", "problem"), [
    (5, "required must be a list of property names, such as [\"id\"], not 5"),
    ("ab", "required must be a list of property names, such as [\"id\"], not 'ab'"),
    ({"a": True}, "required must be a list of property names"),
    ([["a"]], "required must list property names (strings), not ['a']"),
    (["a", 5], "required must list property names (strings), not 5"),
])
def test_a_required_that_is_no_list_of_names_is_refused(required, problem):
    schema = {"type": "object", "required": required, "properties": _PROPERTIES}
    assert f"CrmLookupInput: {problem}" in _refusal(input_schema=schema)
    output = {"type": "object", "required": required, "properties": _PROPERTIES}
    assert f"CrmLookupOutput: {problem}" in _refusal(output_schema=output)


def test_a_list_of_names_is_required_as_listed():
    schema = {"type": "object", "required": ["a", "b", "a"], "properties": _PROPERTIES}
    assert _register(input_schema=schema).input_schema()["required"] == ["a", "b"]


@pytest.mark.parametrize("extra", [
    {"minProperties": 3},
    {"patternProperties": {"x": {"type": "string"}}},
    {"$ref": "http://127.0.0.1:9/schema.json"},
    {"$schema": "https://json-schema.org/draft/2020-12/schema"},
    {"allOf": [{"required": ["a"]}]},
])
def test_a_top_level_keyword_the_model_is_not_built_from_is_refused(extra):
    schema = {"type": "object", "properties": _PROPERTIES, **extra}
    text = _refusal(input_schema=schema)
    assert f"CrmLookupInput: unsupported top-level keywords {sorted(extra)}" in text, text
    assert "CrmLookupOutput: unsupported top-level" in _refusal(output_schema=schema)


@pytest.mark.parametrize("extra", [{"type": "string"}, "no", 0])
def test_additional_properties_other_than_true_or_false_is_refused(extra):
    # A schema here was read as "allow anything": extra arguments went out unchecked.
    schema = {"type": "object", "properties": _PROPERTIES, "additionalProperties": extra}
    text = _refusal(input_schema=schema)
    assert f"additionalProperties must be true or false, not {extra!r}" in text, text


def test_a_title_and_a_description_are_annotations_and_are_accepted():
    schema = {"type": "object", "title": "Lookup", "description": "Who to look up.",
              "additionalProperties": False, "properties": _PROPERTIES}
    assert set(_register(input_schema=schema).input_schema()["properties"]) == {"a", "b"}


def test_every_top_level_problem_is_listed_at_once():
    schema = {"type": "array", "required": 5, "minProperties": 1, "properties": _PROPERTIES}
    text = _refusal(input_schema=schema)
    for problem in ("type 'object'", "required must be", "minProperties"):
        assert problem in text, text


@pytest.mark.parametrize("command", [("plans", "list"), ("audit", "verify"), ("tools", "list")])
def test_a_bad_required_in_baton_toml_is_a_configuration_error_for_every_command(
        data_dir, capsys, command):
    # It was a TypeError traceback, exit 1, even for commands that call no tool.
    from tests.support.cli_in_process import in_process_baton

    (data_dir / "baton.toml").write_text(
        '[users.root]\nroles = ["admin"]\n[[tools.http]]\nname = "crm.lookup"\n'
        'url = "http://127.0.0.1:9/lookup"\nmethod = "GET"\ndescription = "Look up."\n'
        'output_schema = { type = "object", required = true }\n')
    with in_process_baton(capsys) as baton:
        result = baton("--as", "root", *command)
    assert result.returncode == 2, (result.stdout, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: invalid settings (baton.toml): tools.http[0] (crm.lookup): "
                           "CrmLookupOutput: required must be a list of property names"), line
