"""table.aggregate and json.query: deterministic data steps."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tools import ToolContext, ToolInputError, ToolRegistry
from tools.builtin import register_builtin_tools

SALES = "region,amount,note\nnorth,10,a\nsouth,2.5,b\nnorth,5,\nwest,,c\n"


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=Path(tmp_path_factory.mktemp("ws")))
    return registry


def call(registry: ToolRegistry, tool: str, **args) -> dict:
    return asyncio.run(registry.get(tool).invoke(args, ToolContext(idempotency_key="k")))


@pytest.mark.parametrize(("op", "expected"), [
    ("sum", 17.5), ("mean", 17.5 / 3), ("min", 2.5), ("max", 10), ("count", 3),
])
def test_csv_column_aggregates_skip_empty_cells(registry, op, expected):
    out = call(registry, "table.aggregate", csv=SALES, column="amount", op=op)
    assert out == {"value": pytest.approx(expected), "groups": None, "rows": 4}


def test_group_by_gives_sorted_keys_and_the_overall_value(registry):
    out = call(registry, "table.aggregate", csv=SALES, column="amount", op="sum",
               group_by="region")
    assert list(out["groups"]) == ["north", "south", "west"]
    assert out["groups"] == {"north": 15, "south": 2.5, "west": 0}
    assert out["value"] == 17.5


def test_rows_input_keeps_integer_sums_integral(registry):
    rows = [{"k": "b", "v": 1}, {"k": "a", "v": 2}, {"k": "b", "v": None}, {"k": "a", "v": "4"}]
    out = call(registry, "table.aggregate", rows=rows, column="v", op="sum", group_by="k")
    assert out == {"value": 7, "groups": {"a": 6, "b": 1}, "rows": 4}
    assert isinstance(out["value"], int)
    mean = call(registry, "table.aggregate", rows=rows, column="v", op="mean", group_by="k")
    assert mean["groups"] == {"a": 3.0, "b": 1.0}


def test_empty_table_gives_zero_sum_and_null_mean(registry):
    with pytest.raises(ToolInputError, match="'v' not found"):
        call(registry, "table.aggregate", rows=[], column="v", op="sum")
    header_only = "v\n"
    assert call(registry, "table.aggregate", csv=header_only, column="v", op="sum")["value"] == 0
    assert call(registry, "table.aggregate", csv=header_only, column="v", op="mean")["value"] is None


def test_missing_column_lists_the_columns(registry):
    with pytest.raises(ToolInputError) as caught:
        call(registry, "table.aggregate", csv=SALES, column="amount_usd", op="sum")
    assert "'amount_usd'" in str(caught.value) and "'amount'" in str(caught.value)
    with pytest.raises(ToolInputError, match="group_by 'country'"):
        call(registry, "table.aggregate", csv=SALES, column="amount", op="sum", group_by="country")


def test_non_numeric_value_names_row_and_value(registry):
    with pytest.raises(ToolInputError, match=r"row 2: column 'amount' holds 'lots'"):
        call(registry, "table.aggregate", csv="amount\n1\nlots\n", column="amount", op="sum")
    with pytest.raises(ToolInputError, match="row 1: column 'v' holds True"):
        call(registry, "table.aggregate", rows=[{"v": True}], column="v", op="sum")
    with pytest.raises(ToolInputError, match="finite"):
        call(registry, "table.aggregate", csv="v\nnan\n", column="v", op="max")


@pytest.mark.parametrize("args", [{}, {"csv": "v\n1\n", "rows": [{"v": 1}]}])
def test_exactly_one_of_csv_and_rows(registry, args):
    with pytest.raises(ToolInputError, match="exactly one of csv"):
        call(registry, "table.aggregate", column="v", op="sum", **args)


def test_table_schema_offers_the_ops_and_describes_arguments(registry):
    schema = registry.get("table.aggregate").input_schema()
    assert schema["properties"]["op"]["enum"] == ["sum", "mean", "min", "max", "count"]
    assert schema["properties"]["group_by"]["description"].startswith("Optional column")
    assert schema["required"] == ["column", "op"]


def test_json_query_selects_with_jmespath(registry):
    data = {"items": [{"id": "a", "amount": 50}, {"id": "b", "amount": 150}]}
    out = call(registry, "json.query", expression="items[?amount > `100`].id", data=data)
    assert out == {"value": ["b"]}
    assert call(registry, "json.query", expression="missing", data=data) == {"value": None}


def test_json_query_bad_expression_reports_the_jmespath_message(registry):
    with pytest.raises(ToolInputError, match="invalid JMESPath expression 'items\\[\\?'") as caught:
        call(registry, "json.query", expression="items[?", data={})
    assert "Incomplete expression" in str(caught.value)


def test_json_query_type_error_is_an_input_error(registry):
    with pytest.raises(ToolInputError, match="failed"):
        call(registry, "json.query", expression="sum(name)", data={"name": "x"})


def test_integer_sums_and_means_are_exact_beyond_float_precision(registry):
    # Summed through floats, 2**53 + 1 came back as 2**53.
    big = 2**53 + 1
    assert call(registry, "table.aggregate", column="a", op="sum",
                csv=f"a\n{big}\n0\n")["value"] == big
    rows = [{"a": 12345678901234567891, "g": "x"}, {"a": 1, "g": "x"}]
    out = call(registry, "table.aggregate", column="a", op="sum", rows=rows, group_by="g")
    assert out["value"] == 12345678901234567892 and out["groups"] == {"x": 12345678901234567892}
    assert call(registry, "table.aggregate", column="a", op="mean",
                rows=[{"a": 2**60 + 1}, {"a": 2**60 + 3}])["value"] == float(2**60 + 2)


@pytest.mark.parametrize(("op", "args"), [
    ("sum", {"csv": "a\n1e308\n1e308\n"}), ("sum", {"rows": [{"a": 10**400}, {"a": 0.5}]}),
    ("mean", {"rows": [{"a": 10**400}, {"a": 0.5}]}), ("mean", {"rows": [{"a": 10**400}]}),
])
def test_a_sum_beyond_float_range_is_an_input_error_naming_the_column(registry, args, op):
    # OverflowError escaped and the step failed as a crash of the tool.
    with pytest.raises(ToolInputError, match=f"{op} of column 'a' is beyond") as caught:
        call(registry, "table.aggregate", column="a", op=op, **args)
    assert caught.value.code == "table_overflow"


def test_a_mean_within_float_range_is_given_when_the_total_is_not(registry):
    out = call(registry, "table.aggregate", column="a", op="mean", csv="a\n1e308\n1e308\n")
    assert out["value"] == 1e308
