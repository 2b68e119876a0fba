"""``table.aggregate``: sum, mean, min, max or count of a column, optionally by group.

Empty cells and nulls are skipped, as SQL aggregates skip NULL; anything
else that is not a number is refused with its row and value named.
"""

from __future__ import annotations

import csv as csvlib
import io
import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ToolInputError
from ..retry import NO_RETRY
from ..spec import Effect

if TYPE_CHECKING:
    from ..registry import ToolRegistry

Op = Literal["sum", "mean", "min", "max", "count"]
Number = int | float


class AggregateResult(BaseModel):
    """The aggregate of one column, overall and per group."""

    model_config = ConfigDict(frozen=True)

    value: int | float | None = Field(
        description="Aggregate over all rows; null for mean/min/max of no values."
    )
    groups: dict[str, int | float | None] | None = Field(
        description="Aggregate per group_by value, keys sorted; null without group_by."
    )
    rows: int = Field(description="Number of input rows.")


def _parse_rows(csv: str | None, rows: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if (csv is None) == (rows is None):
        raise ToolInputError("give exactly one of csv (CSV text with a header row) or rows "
                             "(a list of objects)", code="table_input")
    if rows is not None:
        return rows
    assert csv is not None
    try:
        return list(csvlib.DictReader(io.StringIO(csv)))
    except csvlib.Error as exc:
        raise ToolInputError(f"csv cannot be parsed: {exc}", code="table_input") from exc


def _columns(rows: list[dict[str, Any]], csv: str | None) -> list[str]:
    if csv is not None:
        header = next(csvlib.reader(io.StringIO(csv)), [])
        return list(header)
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _number(value: Any, column: str, index: int) -> Number | None:
    """The numeric value of one cell; None for empty/null; ``ToolInputError`` otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ToolInputError(f"row {index}: column {column!r} holds {value!r}, not a number",
                             code="table_not_numeric")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ToolInputError(f"row {index}: column {column!r} holds {text!r}, not a number",
                                     code="table_not_numeric") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolInputError(f"row {index}: column {column!r} holds {value!r}, not a finite number",
                             code="table_not_numeric")
    return value


def _apply(op: Op, values: list[Number], column: str) -> Number | None:
    """``op`` over ``values``; a sum or mean beyond float range is a ``ToolInputError``."""
    try:
        return _apply_unchecked(op, values)
    except OverflowError:
        raise ToolInputError(f"the {op} of column {column!r} is beyond the range of a "
                             "floating-point number (about 1.8e308)",
                             code="table_overflow") from None


def _apply_unchecked(op: Op, values: list[Number]) -> Number | None:
    if op == "count":
        return len(values)
    # Integers are summed exactly: through floats, 2**53 + 1 came back as 2**53.
    integral = all(isinstance(v, int) for v in values)
    if op == "sum":
        return sum(values) if integral else math.fsum(values)
    if not values:
        return None
    if op == "mean":
        if integral:  # int / int is correctly rounded
            return sum(values) / len(values)
        try:
            return math.fsum(values) / len(values)
        except OverflowError:  # the total overflows where the mean need not (1e308 twice)
            return math.fsum(v / len(values) for v in values)
    return min(values) if op == "min" else max(values)


def aggregate_rows(
    rows: list[dict[str, Any]], columns: list[str], column: str, op: Op, group_by: str | None
) -> AggregateResult:
    """The pure aggregation behind ``table.aggregate``."""
    for name, role in ((column, "column"), (group_by, "group_by")):
        if name is not None and name not in columns:
            raise ToolInputError(f"{role} {name!r} not found; columns are: "
                                 f"{', '.join(repr(c) for c in columns) or 'none'}",
                                 code="table_column")
    values: list[Number] = []
    grouped: dict[str, list[Number]] = {}
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ToolInputError(f"row {index} is {type(row).__name__}, not an object",
                                 code="table_input")
        number = _number(row.get(column), column, index)
        key = _group_key(row.get(group_by)) if group_by is not None else ""
        bucket = grouped.setdefault(key, [])
        if number is not None:
            values.append(number)
            bucket.append(number)
    groups = None
    if group_by is not None:
        groups = {key: _apply(op, grouped[key], column) for key in sorted(grouped)}
    return AggregateResult(value=_apply(op, values, column), groups=groups, rows=len(rows))


def _group_key(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table_aggregate(
    column: str,
    op: Op,
    csv: str | None = None,
    rows: list[dict[str, Any]] | None = None,
    group_by: str | None = None,
) -> AggregateResult:
    """Aggregate one numeric column of a table given as CSV text or as a list of row objects.

    Empty cells and nulls are skipped; sum of no values is 0, count counts non-empty cells.

    Args:
        column: Name of the column to aggregate.
        op: One of sum, mean, min, max, count.
        csv: CSV text whose first row holds the column names (give csv or rows).
        rows: Rows as objects keyed by column name (give csv or rows).
        group_by: Optional column whose values split the rows into groups.
    """
    table = _parse_rows(csv, rows)
    return aggregate_rows(table, _columns(table, csv), column, op, group_by)


def register_table_tools(registry: ToolRegistry) -> None:
    """Add ``table.aggregate``."""
    registry.register_function(
        table_aggregate, name="table.aggregate", effect=Effect.READ, idempotent=True,
        timeout_s=30.0, retry=NO_RETRY, tags=("data", "pure"),
    )
