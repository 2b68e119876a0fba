"""A tool pattern is read in Rust regex syntax, the engine plans and calls both match it with.

Registration also required the pattern to compile in Python's ``re`` (left from when plan
checks ran on ``re``), so ``^\\p{L}+$``, ``[\\p{Han}\\p{Hiragana}]`` or ``(?<year>\\d{4})``,
which pydantic accepts and checks at call time, were refused as "not a valid regular
expression (bad escape \\p)". A pattern Rust cannot compile is still refused, saying why.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import Field

from planner import validate_plan
from tools import ToolContext, ToolDefinitionError, ToolRegistry
from tools.endpoint_schema import pattern_problem
from tools.http_endpoint import register_http_tool

# Each with a value it takes and one it does not.
RUST_ONLY = [
    (r"^\p{L}+$", "Zoë", "Zoë1"),
    (r"^[\p{Han}\p{Hiragana}]+$", "山田", "Yamada"),
    (r"^(?<year>\d{4})-\d{2}$", "2024-05", "24-05"),
]


def _greet_tool(hint: Any) -> Any:
    """A tool whose one argument, ``name``, is annotated ``hint`` (a value made in the test)."""
    def greet(name: Any) -> dict:
        """Greet someone."""
        return {}

    greet.__annotations__ = {"name": hint, "return": dict}
    return greet


def _python_tool(pattern: str) -> ToolRegistry:
    registry = ToolRegistry()
    registry.register_function(_greet_tool(Annotated[str, Field(pattern=pattern)]),
                               name="people.greet")
    return registry


def _plan(name: str) -> dict:
    return {"goal": "greet", "steps": [{"id": "a", "tool": "people.greet",
                                        "args": {"name": name}}]}


@pytest.mark.parametrize(("pattern", "taken", "refused"), RUST_ONLY)
def test_a_python_tool_with_a_rust_syntax_pattern_registers_and_is_checked(
        pattern, taken, refused):
    registry = _python_tool(pattern)
    assert validate_plan(_plan(taken), registry).problems == ()
    found = validate_plan(_plan(refused), registry).problems
    assert [p.path for p in found] == ["$.steps[0].args.name"], found
    spec = registry.get("people.greet")
    assert spec.bind({"name": taken}, ToolContext(idempotency_key="k-1")) == {"name": taken}


@pytest.mark.parametrize(("pattern", "taken", "refused"), RUST_ONLY)
def test_an_http_tool_with_a_rust_syntax_pattern_registers(pattern, taken, refused):
    registry = ToolRegistry()
    schema = {"type": "object", "properties": {"name": {"type": "string", "pattern": pattern}},
              "required": ["name"]}
    register_http_tool(registry, name="people.greet", url="http://127.0.0.1/", method="GET",
                       description="Greet.", input_schema=schema)
    assert validate_plan(_plan(taken), registry).problems == ()
    assert validate_plan(_plan(refused), registry).problems != ()


@pytest.mark.parametrize(("pattern", "problem"), [
    ("(", "is not a valid regular expression (unclosed group)"),
    (r"\p{NoSuchScript}", "is not a valid regular expression (Unicode property not found)"),
    ("[z-a]", "is not a valid regular expression (invalid character class range"),
    ("a{99999}{99999}", "is not a valid regular expression (Compiled regex exceeds size limit"),
    ("^(?!admin)", "cannot be used: look-around ((?=, (?!, (?<=, (?<!) is not supported"),
    (r"^(\w)\1$", "cannot be used: backreferences are not supported"),
])
def test_a_pattern_rust_cannot_compile_is_still_refused_saying_why(pattern, problem):
    found = pattern_problem(pattern)
    assert found is not None and problem in found, found
    # In the JSON Schema only (pydantic would not build it): the plan checks' refusal.
    greet = _greet_tool(Annotated[str, Field(json_schema_extra={"pattern": pattern})])
    with pytest.raises(ToolDefinitionError) as caught:
        ToolRegistry().register_function(greet, name="people.greet")
    assert f"argument 'name': pattern {pattern!r} " in str(caught.value), str(caught.value)
