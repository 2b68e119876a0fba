"""A reference is checked against what a container holds, not only that it is one.

``dict[str, int]`` went into a ``dict[str, str]`` argument (the values were never compared,
and the plan failed at run time after its approval), and ``tuple[int, str]`` answered
``a.value.2``, an item a two-item tuple never has.
"""

from __future__ import annotations

import pytest

from planner.validation import validate_plan
from tools import ToolRegistry


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("t.counts")
    def counts(path: str) -> dict[str, int]:
        """Counts by key."""
        return {}

    @reg.tool("t.labels")
    def labels(path: str) -> dict[str, str]:
        """Labels by key."""
        return {}

    @reg.tool("t.headers")
    def headers(headers: dict[str, str]) -> bool:
        """Takes headers."""
        return True

    @reg.tool("t.numbers")
    def numbers(values: dict[str, float]) -> bool:
        """Takes numbers by key."""
        return True

    @reg.tool("t.pair")
    def pair(path: str) -> tuple[int, str]:
        """A pair."""
        return (1, "a")

    @reg.tool("t.texts")
    def texts(items: list[str]) -> bool:
        """Takes texts."""
        return True

    @reg.tool("t.text")
    def text(path: str) -> str:
        """Takes a text."""
        return ""

    return reg


def _problems(registry: ToolRegistry, source: str, target: str, args: dict) -> list[str]:
    found = validate_plan({"goal": "g", "steps": [
        {"id": "a", "tool": source, "args": {"path": "x"}},
        {"id": "b", "tool": target, "args": args}]}, registry)
    return [f"{p.code.value}: {p.message}" for p in found.problems]


def test_an_object_of_numbers_does_not_fit_an_object_of_strings(registry):
    problems = _problems(registry, "t.counts", "t.headers", {"headers": {"ref": "a.value"}})
    assert len(problems) == 1 and problems[0].startswith("ref_type_mismatch")


def test_an_object_of_fitting_values_is_accepted(registry):
    assert _problems(registry, "t.labels", "t.headers", {"headers": {"ref": "a.value"}}) == []
    assert _problems(registry, "t.counts", "t.numbers", {"values": {"ref": "a.value"}}) == []


def test_an_index_past_a_tuples_length_is_refused(registry):
    problems = _problems(registry, "t.pair", "t.text", {"path": {"ref": "a.value.2"}})
    assert len(problems) == 1
    assert "item 2" in problems[0] and "at most 2" in problems[0]


def test_the_items_of_a_tuple_are_each_checked(registry):
    assert _problems(registry, "t.pair", "t.text", {"path": {"ref": "a.value.1"}}) == []
    problems = _problems(registry, "t.pair", "t.texts", {"items": {"ref": "a.value"}})
    assert len(problems) == 1 and problems[0].startswith("ref_type_mismatch")


def test_a_closed_tuple_fits_a_list_of_its_item_type(registry):
    """``items: false`` after ``prefixItems`` holds no value, so it never fails to fit."""
    from planner.schema_types import Node, fits

    pair = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}],
            "items": False}
    assert fits(Node(pair, pair), Node({"type": "array", "items": {"type": "string"}}, {}))
    assert not fits(Node(pair, pair), Node({"type": "array", "items": {"type": "integer"}}, {}))


def test_the_mismatch_names_the_types_of_the_values(registry):
    problems = _problems(registry, "t.counts", "t.headers", {"headers": {"ref": "a.value"}})
    assert "gives object of integer values" in problems[0]
    assert "takes object of string values" in problems[0]
