"""A tool's ``pattern`` is checked on Rust regex when a plan is validated, as pydantic checks
it when the tool is called: in time linear in the argument.

jsonschema matched it with Python's backtracking ``re``: ``^(a+)+$`` against 28 ``a``'s and
a ``!`` took 11 s and each more character doubled it; one plan with 29 froze ``baton
serve``. Ten thousand characters would never end: the timeout marks such a hang a failure.
"""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from planner import ProblemCode, validate_plan
from planner.arg_checks import json_path
from tools import ToolRegistry
from tools.http_endpoint import register_http_tool

NESTED_PLUS = "^(a+)+$"  # each extra 'a' doubles the work of a backtracking engine
LONG = "a" * 10_000


def http_tool() -> ToolRegistry:
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.lookup", url="http://127.0.0.1:9/crm", method="GET",
                       description="Look a record up.", input_schema={
                           "type": "object", "required": ["id"],
                           "properties": {"id": {"type": "string", "pattern": NESTED_PLUS}}})
    return registry


def python_tool() -> ToolRegistry:
    registry = ToolRegistry()

    def lookup(id: Annotated[str, Field(pattern=NESTED_PLUS)],
               keys: Annotated[dict[Annotated[str, Field(pattern=NESTED_PLUS)], int],
                               Field(default_factory=dict)]) -> str:
        """Look a record up."""
        return id

    registry.register_function(lookup, name="crm.lookup")
    return registry


def problems(registry: ToolRegistry, args: dict) -> list:
    plan = {"goal": "look it up", "steps": [{"id": "a", "tool": "crm.lookup", "args": args}]}
    return list(validate_plan(plan, registry).problems)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("make", [http_tool, python_tool], ids=["http", "python"])
def test_a_long_argument_against_a_nested_quantifier_is_refused_and_the_check_ends(make):
    found = problems(make(), {"id": LONG + "!"})
    assert [p.code for p in found] == [ProblemCode.INVALID_ARGS], found
    assert found[0].path == "$.steps[0].args.id"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("make", [http_tool, python_tool], ids=["http", "python"])
def test_a_long_argument_the_pattern_takes_is_accepted(make):
    assert problems(make(), {"id": LONG}) == []


@pytest.mark.timeout(60)
def test_pattern_property_keys_are_matched_on_the_same_engine():
    found = problems(python_tool(), {"id": "a", "keys": {LONG + "!": 1, LONG: "not a number"}})
    # The key that matches has its value checked; the one that does not, not.
    assert [p.path for p in found] == [json_path("$.steps[0].args", ["keys", LONG])]
    assert "'not a number' is not of type 'integer'" in found[0].message


def test_a_pattern_matches_anywhere_in_the_text_as_json_schema_says():
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.lookup", url="http://127.0.0.1:9/crm", method="GET",
                       description="Look a record up.", input_schema={
                           "type": "object", "required": ["id"],
                           "properties": {"id": {"type": "string", "pattern": "[0-9]"}}})
    assert problems(registry, {"id": "ab7cd"}) == []
    assert [p.code for p in problems(registry, {"id": "abcd"})] == [ProblemCode.INVALID_ARGS]
