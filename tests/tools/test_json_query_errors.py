"""json.query: an expression that fails on the data it is given is a typed, final error
(``jmespath_eval``), whatever jmespath raised, never a crash of the tool."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tools import ToolContext, ToolInputError, ToolRegistry
from tools.builtin import register_builtin_tools


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path / "ws")
    return registry


def query(registry: ToolRegistry, expression: str, data) -> dict:
    return asyncio.run(registry.get("json.query").invoke(
        {"expression": expression, "data": data}, ToolContext(idempotency_key="k")))


@pytest.mark.parametrize(("expression", "data", "why"), [
    ("[?a > `1`]", [{"a": "x"}], "'>' not supported"),  # TypeError
    ("@ > `1`", "a", "'>' not supported"),  # TypeError
    ("@[0:10:0]", [1, 2], "slice step cannot be zero"),  # ValueError
    ("floor(`1e400`)", None, "cannot convert float infinity"),  # OverflowError
    ("a" + "|a" * 5000, {"a": 1}, "nested too deeply to evaluate"),  # RecursionError
])
def test_an_expression_failing_on_its_data_is_a_typed_final_error(
        registry, expression, data, why):
    with pytest.raises(ToolInputError) as caught:
        query(registry, expression, data)
    assert caught.value.code == "jmespath_eval" and not caught.value.retryable
    assert why in str(caught.value)


def test_an_expression_nested_too_deeply_to_parse_is_a_syntax_error(registry):
    with pytest.raises(ToolInputError) as caught:
        query(registry, "(" * 3000 + "a" + ")" * 3000, {"a": 1})
    assert caught.value.code == "jmespath_syntax" and "nested too deeply" in str(caught.value)


def test_the_errors_jmespath_names_itself_keep_their_message(registry):
    with pytest.raises(ToolInputError, match=r"In function abs\(\), invalid type") as caught:
        query(registry, "abs(@)", "x")
    assert caught.value.code == "jmespath_eval"
