"""A tool schema that plan checks could not honour is refused at registration, naming the tool
and the argument; the checks themselves fetch nothing and run patterns on Rust regex.

A ``$ref`` to ``http://…`` was fetched by jsonschema at every ``baton validate`` (a server that
never answered hung it for ever, one that was down gave a URLError traceback), and a pattern
with look-around or a backreference, which pydantic's Rust regex runs only when told to use
Python's ``re``, was matched by ``re`` in plan checks, backtracking and all.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field
from referencing.exceptions import Unresolvable

from planner import validate_plan
from planner.arg_checks import ToolSchemas
from tests.support import Reply
from tools import ToolDefinitionError, ToolRegistry, ToolSpec


def refusal(fn: Any, **options: Any) -> str:
    with pytest.raises(ToolDefinitionError) as caught:
        ToolRegistry().register_function(fn, name="crm.lookup", **options)
    text = str(caught.value)
    assert "'crm.lookup'" in text, text
    return text


def tool_taking(hint: Any) -> Any:
    """A tool whose one argument, ``x``, is annotated ``hint`` (a value made in the test)."""
    def lookup(x: Any) -> int:
        """Look a record up."""
        return 1

    lookup.__annotations__ = {"x": hint, "return": int}
    return lookup


def test_a_remote_ref_is_refused_at_registration_and_never_fetched(http_server):
    http_server.script("/schema.json", Reply(status=200, body={"type": "integer"}))
    url = http_server.url("/schema.json")

    text = refusal(tool_taking(Annotated[dict, Field(json_schema_extra={"$ref": url})]))
    assert f"argument 'x': $ref {url!r} does not resolve inside the schema" in text, text
    assert "#/$defs/" in text  # what to write instead
    assert http_server.count() == 0


def test_a_spec_added_as_built_is_checked_too(http_server):
    url = http_server.url("/schema.json")

    class Remote(BaseModel):
        model_config = ConfigDict(json_schema_extra={"properties": {"x": {"$ref": url}}})
        x: dict

    spec = ToolSpec(name="crm.lookup", description="Look up.", fn=lambda m: 1,
                    input_model=Remote, output_model=Remote)
    with pytest.raises(ToolDefinitionError) as caught:
        ToolRegistry().add(spec)
    assert f"argument 'x': $ref {url!r} does not resolve" in str(caught.value)
    assert http_server.count() == 0


def test_the_plan_checks_resolve_no_reference_over_the_network(http_server):
    """Even for a schema that never went through registration: the validator retrieves nothing."""
    http_server.script("/schema.json", Reply(status=200, body={"type": "integer"}))
    schema = {"type": "object", "properties": {"x": {"$ref": http_server.url("/schema.json")}}}
    checks = ToolSchemas(spec=None, input_schema=schema, output_schema={})  # type: ignore[arg-type]
    for with_refs in (False, True):
        with pytest.raises(Unresolvable):
            list(checks.validator(with_refs).iter_errors({"x": "not an integer"}))
    assert http_server.count() == 0


class _Address(BaseModel):
    postcode: Annotated[str, Field(pattern=r"^[0-9]{4,5}$")]


def test_a_local_defs_reference_still_works():
    def ship(to: list[_Address]) -> int:
        """Ship a parcel."""
        return 1

    registry = ToolRegistry()
    registry.register_function(ship, name="parcel.ship")
    assert "$ref" in str(registry.get("parcel.ship").input_schema())

    def plan(postcode: str) -> dict:
        return {"goal": "ship", "steps": [{"id": "a", "tool": "parcel.ship",
                                           "args": {"to": [{"postcode": postcode}]}}]}

    assert validate_plan(plan("10115"), registry).problems == ()
    found = validate_plan(plan("1O115"), registry).problems
    assert [p.path for p in found] == ["$.steps[0].args.to[0].postcode"], found


def test_a_lookaround_pattern_run_on_python_re_is_refused_naming_the_argument():
    def lookup(id: Annotated[str, Field(pattern=re.compile(r"^(?!admin).*$"))]) -> int:
        """Look a record up."""
        return 1

    text = refusal(lookup)
    assert "argument 'id': pattern '^(?!admin).*$' cannot be used: look-around" in text, text


class _PythonRe(BaseModel):
    model_config = ConfigDict(regex_engine="python-re")
    code: Annotated[str, Field(pattern=r"^(\w)\1$")]


def test_a_backreference_inside_a_nested_model_is_refused_with_its_place():
    def lookup(item: _PythonRe) -> int:
        """Look a record up."""
        return 1

    text = refusal(lookup)
    assert ("input schema at /$defs/_PythonRe/properties/code: pattern '^(\\\\w)\\\\1$' "
            "cannot be used: backreferences are not supported") in text, text


def test_an_output_pattern_is_checked_as_well():
    def lookup(id: str) -> _PythonRe:
        """Look a record up."""
        return _PythonRe(code="aa")

    assert "output field 'code': pattern" in refusal(lookup)


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "object", "patternProperties": {"(?<=x)y": {}}},
     "argument 'x': patternProperties key: pattern '(?<=x)y' cannot be used: look-around"),
    ({"type": "string", "pattern": 5}, "argument 'x': pattern must be a string, not 5"),
    ({"type": "object", "$schema": "http://json-schema.org/draft-07/schema#"},
     "argument 'x': $schema 'http://json-schema.org/draft-07/schema#' is not supported"),
    ({"type": "object", "patternProperties": {"^a": {}}, "unevaluatedProperties": False},
     "argument 'x': unevaluatedProperties cannot be used in a schema with patternProperties"),
    ({"items": {"$ref": "https://schemas.example/item.json"}},
     "argument 'x' (input schema at /properties/x/items): "
     "$ref 'https://schemas.example/item.json' does not resolve inside the schema"),
])
def test_a_schema_keyword_the_checks_cannot_honour_is_refused(schema, expected):
    text = refusal(tool_taking(Annotated[Any, Field(json_schema_extra=schema)]))
    assert expected in text, text


def test_a_local_reference_to_nothing_is_refused_naming_it():
    from tools.json_schema_checks import schema_problems

    schema = {"type": "object", "properties": {"x": {"$ref": "#/$defs/Nope"}}}
    assert schema_problems(schema) == ["argument 'x': $ref '#/$defs/Nope' points to nothing in "
                                       "the schema"]
