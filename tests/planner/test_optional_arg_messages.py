"""An optional argument (``X | None``: ``anyOf`` of X's schema and ``{"type": "null"}``) that
breaks X's bound or pattern is reported by that rule, not as "not of type 'null'": the message
is the model's repair feedback."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from planner import ProblemCode, validate_plan
from tools import ToolRegistry


class Person(BaseModel):
    name: str
    age: int
    nick: Annotated[str, Field(max_length=3)] | None = None


def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("crm.x")
    def x(id: Annotated[str, Field(pattern="^[a-z]+$")] | None = None,
          n: Annotated[int, Field(le=5)] | None = None, person: Person | None = None,
          either: int | str | None = None) -> str:
        """X."""
        return ""

    return reg


def messages(args: dict) -> dict[str, str]:
    report = validate_plan({"goal": "g", "steps": [{"id": "x", "tool": "crm.x", "args": args}]},
                           registry())
    return {p.path.removeprefix("$.steps[0].args."): p.message for p in report.problems
            if p.code is ProblemCode.INVALID_ARGS}


def test_the_broken_bound_and_pattern_are_named_not_the_null_branch():
    found = messages({"id": "ABC", "n": 9})
    assert found["n"] == "argument 'n': 9 is greater than the maximum of 5"
    assert found["id"].startswith("argument 'id': 'ABC' does not match ")
    assert "null" not in found["id"] + found["n"]


def test_an_optional_object_names_its_wrong_field():
    found = messages({"person": {"name": "n", "age": "old"}})
    assert found["person"] == "argument 'person.age': 'old' is not of type 'integer'"
    nested = messages({"person": {"name": "n", "age": 1, "nick": "long"}})  # optional in optional
    assert nested["person"] == "argument 'person.nick': 'long' is too long"


def test_a_value_of_no_branch_type_keeps_the_whole_refusal():
    found = messages({"n": "nine", "either": [1]})
    assert "is not valid under any of the given schemas" in found["n"]
    assert "is not valid under any of the given schemas" in found["either"]
