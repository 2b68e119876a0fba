"""Two keys of one dict written as the same JSON key fail the call, naming the field.

Keys that are not text are written as text (``7`` as ``"7"``, ``(1, 2)`` as ``"1,2"``,
``True`` as ``"true"``): when that text was another key of the same dict, the output kept
one of the two values and the step succeeded, a value lost without a word.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tools import ToolContext, ToolError, ToolRegistry

CTX = ToolContext(idempotency_key="k")


def _shaped(output: Any) -> dict[str, Any]:
    registry = ToolRegistry()

    @registry.tool("x.out")
    def out() -> dict:
        """Returns the output under test."""
        return output

    return asyncio.run(registry.get("x.out").invoke({}, CTX))


@pytest.mark.parametrize(("keys", "written"), [
    pytest.param((7, "7"), "7", id="int-and-text"),
    pytest.param(("7", 7), "7", id="text-and-int"),
    pytest.param(((1, 2), "1,2"), "1,2", id="tuple-and-text"),
    pytest.param(((1, (2, 3)), (1, 2, 3)), "1,2,3", id="nested-tuples"),
    pytest.param((True, "true"), "true", id="bool-and-text"),
    pytest.param((None, "None"), "None", id="none-and-text"),
    pytest.param((1.5, "1.5"), "1.5", id="float-and-text"),
])
def test_keys_written_as_the_same_text_fail_naming_the_field(keys, written):
    first, second = keys
    with pytest.raises(ToolError) as caught:
        _shaped({"rows": [{"ok": 1}, {"by_id": {first: "a", second: "b"}}]})
    assert caught.value.code == "tool_output_duplicate_key" and not caught.value.retryable
    assert str(caught.value) == (
        f"x.out: output field value.rows[1].by_id has the keys {first!r} and {second!r}, both "
        f"written as the JSON key {written!r}: one of the two values would be lost; make the "
        "keys distinct (text keys)")


def test_keys_that_are_written_differently_are_kept():
    output = {"by_id": {7: "a", "8": "b", (1, 2): "c", False: "d", None: "e"}}
    assert _shaped(output) == {"value": {"by_id": {"7": "a", "8": "b", "1,2": "c",
                                                   "false": "d", "None": "e"}}}
