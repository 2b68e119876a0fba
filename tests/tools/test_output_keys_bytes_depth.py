"""More outputs JSON cannot hold fail the call with their own code, naming the field.

Each of these used to fail the step as a bare ``tool_crashed`` with pydantic's or Python's
words (``Exceeds the limit (4300 digits) for integer string conversion``, ``Circular
reference detected (id repeated)``, ``'utf-8' codec can't decode byte 0xff``, ``Maximum
serialization depth exceeded``), or, for a NaN key or a NaN in a deque, was stored changed
("None", null) without a word.
"""

from __future__ import annotations

import asyncio
import collections
import sys
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from tools import ToolContext, ToolError, ToolRegistry
from tools.output_checks import OUTPUT_MAX_DEPTH, output_fault, size_fault

CTX = ToolContext(idempotency_key="k")


def run(output: Any) -> dict[str, Any]:
    registry = ToolRegistry()

    @registry.tool("x.out")
    def out() -> Any:
        """Returns the output under test."""
        return output

    return asyncio.run(registry.get("x.out").invoke({}, CTX))


def refused(output: Any) -> ToolError:
    with pytest.raises(ToolError) as caught:
        run(output)
    assert not caught.value.retryable
    return caught.value


def nested(levels: int, leaf: Any = 1) -> Any:
    for _ in range(levels):
        leaf = [leaf]
    return leaf


def _deque_inside_itself() -> collections.deque[Any]:
    d: collections.deque[Any] = collections.deque([1])
    d.append(d)
    return d


INT_TOO_LONG = (f"is an integer of more than {sys.get_int_max_str_digits()} digits, longer than "
                "JSON text is written here; return it as a string")


@pytest.mark.parametrize(("output", "code", "error"), [
    ({"v": {10 ** 5000: 1}}, "tool_output_int_too_long", f"value.v has a key that {INT_TOO_LONG}"),
    ({"v": {(1, (2, 10 ** 5000)): 1}}, "tool_output_int_too_long",
     f"value.v has a tuple key with a part that {INT_TOO_LONG}"),
    ({float("nan"): 1}, "tool_output_not_finite",
     "value has a key that is nan, not a finite number; JSON has no NaN or Infinity"),
    ({"v": {(1.0, float("-inf")): 1}}, "tool_output_not_finite",
     "value.v has a tuple key with a part that is -inf, not a finite number; JSON has no NaN "
     "or Infinity"),
])
def test_a_key_json_cannot_hold_fails_naming_its_container(output, code, error):
    caught = refused(output)
    assert caught.code == code
    assert str(caught) == f"x.out: output field {error}"


def test_keys_json_can_hold_are_written_as_pydantic_writes_them():
    assert run({(1, 2): "t", 1.5: "f", None: "n", True: "b", 7: "i"}) == {
        "value": {"1,2": "t", "1.5": "f", "None": "n", "true": "b", "7": "i"}}


@pytest.mark.timeout(5)
def test_a_deque_is_walked_like_a_list():
    caught = refused({"q": _deque_inside_itself()})
    assert caught.code == "tool_output_cyclic"
    assert str(caught).startswith("x.out: output field value.q[1][1] refers back to value.q[1],")
    caught = refused({"q": collections.deque([1.0, float("nan")])})
    assert caught.code == "tool_output_not_finite"
    assert str(caught).startswith("x.out: output field value.q[1] is nan,")
    assert run({"q": collections.deque([1, {"a": 2}])}) == {"value": {"q": [1, {"a": 2}]}}


@pytest.mark.parametrize(("output", "error"), [
    ({"ok": b"text", "blob": b"ab\xff"}, "value.blob is bytes that are not UTF-8 (byte 0xff at "
     "offset 2); JSON holds text, not bytes: return them as base64 text "
     "(base64.b64encode(data).decode())"),
    ({"blob": [bytearray(b"\xfe")]}, "value.blob[0] is bytes that are not UTF-8 (byte 0xfe at "
     "offset 0); JSON holds text, not bytes: return them as base64 text "
     "(base64.b64encode(data).decode())"),
    ({"m": {b"\xff": 1}}, "value.m has a key that is bytes that are not UTF-8 (byte 0xff at "
     "offset 0); JSON holds text, not bytes: return them as base64 text "
     "(base64.b64encode(data).decode())"),
])
def test_bytes_that_are_not_utf8_fail_naming_the_field_and_base64(output, error):
    caught = refused(output)
    assert caught.code == "tool_output_not_utf8"
    assert str(caught) == f"x.out: output field {error}"


def test_bytes_a_model_writes_as_base64_are_kept():
    class Blob(BaseModel):
        model_config = ConfigDict(ser_json_bytes="base64")
        data: bytes

    assert run({"blob": Blob(data=b"\xff"), "text": b"ok"}) == {
        "value": {"blob": {"data": "_w=="}, "text": "ok"}}


def test_the_depth_limit_is_the_one_pydantic_writes_json_to():
    assert OUTPUT_MAX_DEPTH == 254
    assert run(nested(OUTPUT_MAX_DEPTH)) == {"value": nested(OUTPUT_MAX_DEPTH)}


@pytest.mark.timeout(5)
def test_an_output_nested_deeper_than_json_is_written_fails_naming_the_limit():
    caught = refused({"deep": nested(OUTPUT_MAX_DEPTH)})
    assert caught.code == "tool_output_too_deep"
    path = "value.deep" + "[0]" * (OUTPUT_MAX_DEPTH - 1)
    assert str(caught) == (
        f"x.out: output field {path[:120]}… is a list or dict nested 255 levels deep, deeper "
        "than the 254 levels an output may nest as JSON; flatten it or return it as text")


# A guard against a hang, not a timing: that the walk stops early is held by the test below.
# At 5 s it fired on a loaded CI machine inside a garbage collection of the 200,000 lists.
@pytest.mark.timeout(60)
def test_a_very_deep_output_fails_at_once_without_crashing():
    caught = refused(nested(200_000))
    assert caught.code == "tool_output_too_deep"


def test_the_size_check_stops_where_json_may_nest_no_deeper():
    # It walked all 200,000 levels (a second of work, five on a loaded CI machine) before the
    # depth check refused the output: what lies below the deepest level JSON is written to
    # is never written, so it is left unread, here a generator the walk would have named.
    deep = nested(200_000, leaf=iter([1]))
    assert size_fault(deep) is None
    assert size_fault(nested(OUTPUT_MAX_DEPTH + 1, leaf=iter([1])))[2] == "tool_output_iterator"
    assert refused(deep).code == "tool_output_too_deep"


def test_a_path_too_deep_is_named_by_its_first_120_characters():
    deep: Any = {}
    for _ in range(OUTPUT_MAX_DEPTH):
        deep = {"a": deep}
    fault = output_fault({"v": deep})
    assert fault is not None and fault[2] == "tool_output_too_deep"
    assert fault[0] == ("v" + ".a" * OUTPUT_MAX_DEPTH)[:120] + "…"
