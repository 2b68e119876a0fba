"""An output whose JSON would be too large fails its call before anything writes it out.

The output checks walk each container once, so an output that reuses one list at each of
60 levels (``x = [x, x]``) passed them, while writing it out takes 2**60 items: pydantic's
dump of the output (and later ``json.dumps``) held the event loop and grew memory until
the process was killed. Its size is now added up per container, each shared one counted
at every place it appears, without writing anything out.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, RootModel, field_serializer

from planner.plan import canonical_json
from tools import ToolContext, ToolError, ToolRegistry
from tools.output_checks import OUTPUT_MAX_JSON_BYTES, oversized

CTX = ToolContext(idempotency_key="k")


def _registry(output: Any) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("x.out")
    def out() -> Any:
        """Returns the output under test."""
        return output

    return registry


def _doubled(levels: int) -> list[Any]:
    shared: Any = [1]
    for _ in range(levels):
        shared = [shared, shared]
    return shared


def _refusal(output: Any, name: str = "x.out", registry: ToolRegistry | None = None) -> ToolError:
    registry = registry or _registry(output)
    with pytest.raises(ToolError) as caught:
        asyncio.run(registry.get(name).invoke({}, CTX))
    assert caught.value.code == "tool_output_too_large" and not caught.value.retryable
    return caught.value


@pytest.mark.timeout(10)
def test_one_list_shared_at_each_of_60_levels_fails_without_being_written_out():
    error = _refusal({"rows": _doubled(60)})
    # The smallest container over the limit is named: 2**27 leaves at 28 levels down.
    path = "value.rows" + "[0]" * 32
    assert _size_of(28) > OUTPUT_MAX_JSON_BYTES >= _size_of(27)
    assert str(error) == (
        f"x.out: output field {path} would take at least {_size_of(28):,} bytes as JSON, over "
        f"the {OUTPUT_MAX_JSON_BYTES:,} an output may take (a value shared by several fields "
        "is written out at each)")


def _size_of(levels: int) -> int:
    """The JSON length of ``_doubled(levels)``: ``[1]`` is 3, each level ``[x,x]`` is 2x + 3."""
    return 3 if levels == 0 else 2 * _size_of(levels - 1) + 3


def test_the_size_added_up_is_the_length_of_the_json_for_text_and_digits():
    value = {"rows": [["ab", 1, 2], {"k": "abc", "n": [0]}], "t": 7}
    length = len(canonical_json(value))
    assert oversized(value, limit=length) is None
    assert oversized(value, limit=length - 1) == ("(the whole output)", length)


def test_the_innermost_field_over_the_limit_is_named():
    row = ["x" * 100] * 10
    assert oversized({"a": {"ok": 1}, "b": [1, {"c": row}]}, limit=1000) == (
        "b[1].c", len(canonical_json(row)))


@pytest.mark.timeout(30)
def test_an_output_of_exactly_the_limit_is_kept_and_one_over_it_refused():
    # 333,667 references to one row of 5 references to one 596-character text: 10**9 bytes.
    outer = [["a" * 596] * 5] * 333_667
    assert len(canonical_json(outer[0])) * len(outer) + len(outer) + 1 == OUTPUT_MAX_JSON_BYTES
    assert oversized(outer) is None
    assert oversized({"value": [outer, 1]}) == ("value", OUTPUT_MAX_JSON_BYTES + 4)


def test_a_large_output_without_shared_values_is_kept():
    rows = [{"id": n, "name": f"row {n}", "tags": ["a", "b"]} for n in range(50_000)]
    text = "y" * 20_000_000
    output = asyncio.run(_registry({"rows": rows, "text": text}).get("x.out").invoke({}, CTX))
    assert output["value"]["text"] == text and len(output["value"]["rows"]) == 50_000


class Node(BaseModel):
    name: str
    kids: list[Node] = []


@pytest.mark.timeout(10)
@pytest.mark.parametrize("as_models", [False, True])
def test_a_typed_output_sharing_nodes_fails_before_its_model_reads_it(as_models):
    # Read from dicts, the output model makes a node for every path (2**60 of them); returned
    # as models, it keeps them and its dump writes one out for every path.
    shared: Any = {"name": "leaf"}
    for _ in range(60):
        shared = {"name": "n", "kids": [shared, shared]}
        if as_models:
            shared = Node.model_validate(shared)
    registry = ToolRegistry()

    @registry.tool("x.tree")
    def tree() -> Node:
        """Returns a tree sharing its nodes."""
        return shared

    error = _refusal(None, "x.tree", registry)
    assert str(error).startswith("x.tree: output field kids[0].kids[0]")


class Hidden(BaseModel):
    shown: str
    hidden: list[str] = Field(exclude=True)


class Summary(BaseModel):
    rows: list[str]

    @field_serializer("rows")
    def count(self, rows: list[str]) -> int:
        return len(rows)


Rows = RootModel[list[str]]


def test_models_count_as_they_are_written_out():
    many = ["z" * 1000] * 1000
    written = [Hidden(shown="a", hidden=many), Summary(rows=many), Rows(["ab", "cd"])]
    length = len(canonical_json([item.model_dump(mode="json") for item in written]))
    assert length < 100
    assert oversized(written, limit=length) is None
    assert oversized({"rows": Rows(many)}, limit=1_000_000) == ("rows", 1_003_001)


def test_a_cycle_is_left_to_the_check_that_names_it():
    looped: dict[str, Any] = {"a": "x"}
    looped["self"] = looped
    assert oversized(looped, limit=100) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30)


@given(_JSON)
def test_the_size_added_up_is_never_more_than_the_json_written(value):
    written = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    assert oversized({"value": value}, limit=written + 10) is None
