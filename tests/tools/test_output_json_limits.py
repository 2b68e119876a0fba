"""Outputs JSON cannot hold fail the call naming the field, never hang or crash the executor.

An output that contains itself (``d["self"] = d``) used to send the output check into an
endless walk, holding the event loop and growing memory until the process was killed; an
integer longer than Python writes as text (4,300 digits) passed every check and then
crashed the run's commit as an internal error.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from tools import ToolContext, ToolError, ToolRegistry
from tools.output_checks import holds_non_finite

CTX = ToolContext(idempotency_key="k")


def run(registry: ToolRegistry, name: str) -> dict[str, Any]:
    return asyncio.run(registry.get(name).invoke({}, CTX))


def _registry(output: Any) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("x.out")
    def out() -> Any:
        """Returns the output under test."""
        return output

    return registry


def _self_containing() -> dict[str, Any]:
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    return d


@pytest.mark.timeout(5)
@pytest.mark.parametrize(("output", "field", "target"), [
    # The output model copies the outer level (value is a copy of d, whose "self" is d): the
    # cycle is where the copy leads back into itself.
    (_self_containing(), "value.self.self", "value.self"),
    ({"rows": [1, (lambda rows: (rows.append(rows), rows)[1])([2])]}, "value.rows[1][1][1]",
     "value.rows[1][1]"),
])
def test_an_output_that_contains_itself_fails_naming_the_cycle(output, field, target):
    with pytest.raises(ToolError) as caught:
        run(_registry(output), "x.out")
    assert caught.value.code == "tool_output_cyclic" and not caught.value.retryable
    assert str(caught.value) == (f"x.out: output field {field} refers back to {target}, which "
                                 "contains it (a cycle); JSON cannot hold an output that "
                                 "contains itself")


def test_a_value_shared_by_two_fields_is_no_cycle():
    shared = [1.5, {"b": 2}]
    assert run(_registry({"x": shared, "y": shared}), "x.out") == {
        "value": {"x": [1.5, {"b": 2}], "y": [1.5, {"b": 2}]}}


@pytest.mark.timeout(5)
def test_a_diamond_of_shared_values_is_walked_once_not_once_a_path():
    # 2**60 paths through 60 shared levels: a walk that follows every path never ends.
    shared: Any = [1]
    for _ in range(60):
        shared = [shared, shared]
    assert not holds_non_finite(shared)
    assert holds_non_finite([shared, {"z": float("nan")}])


@pytest.mark.timeout(5)
def test_the_non_finite_check_ends_on_a_value_that_contains_itself():
    assert not holds_non_finite(_self_containing())
    looped = _self_containing()
    looped["bad"] = float("inf")
    assert holds_non_finite(looped)


@pytest.mark.timeout(5)
def test_a_non_finite_float_beside_a_cycle_is_named_first_in_field_order():
    output = {"a": float("nan")}
    output["b"] = output
    with pytest.raises(ToolError) as caught:
        run(_registry(output), "x.out")
    assert caught.value.code == "tool_output_not_finite"
    assert "output field value.a is nan" in str(caught.value)


def test_an_integer_too_long_to_write_as_text_fails_naming_the_field():
    limit = sys.get_int_max_str_digits()
    with pytest.raises(ToolError) as caught:
        run(_registry({"ok": 1, "v": [0, 10 ** 5000]}), "x.out")
    assert caught.value.code == "tool_output_int_too_long" and not caught.value.retryable
    assert str(caught.value) == (
        f"x.out: output field value.v[1] is an integer of more than {limit} digits, longer "
        "than JSON text is written here; return it as a string")


def test_an_integer_of_exactly_the_longest_length_is_kept():
    longest = 10 ** (sys.get_int_max_str_digits() - 1)
    assert run(_registry({"v": longest, "neg": -longest}), "x.out") == {
        "value": {"v": longest, "neg": -longest}}
