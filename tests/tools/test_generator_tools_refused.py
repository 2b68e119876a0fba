"""A generator function (sync or async) is refused at registration, naming the tool.

Such a function registered: calling it returned a generator object, not a result, so the
run failed at its output check (or, under ``-> Iterable[...]``, its body ran on the event
loop while the output was validated, outside the tool's thread and time limit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator

import pytest

from tools import ToolContext, ToolDefinitionError, ToolRegistry

REFUSAL = "a generator function cannot be a tool: return the whole result"


def yields_rows(count: int) -> Iterable[int]:
    """Yield the row numbers."""
    yield from range(count)


def yields_int(count: int) -> int:
    """Yield a count."""
    yield count


def yields_iterator(count: int) -> Iterator[int]:
    """Yield the row numbers."""
    yield from range(count)


async def streams_rows(count: int) -> AsyncIterator[int]:
    """Stream the row numbers."""
    for row in range(count):
        yield row


async def streams_int(count: int) -> int:
    """Stream a count."""
    yield count


class Rows:
    """An object whose methods are registered as tools."""

    def stream(self, count: int) -> list[int]:
        """Yield the row numbers."""
        yield from range(count)


GENERATORS = [yields_rows, yields_int, yields_iterator, streams_rows, streams_int, Rows().stream]


@pytest.mark.parametrize("fn", GENERATORS)
def test_a_generator_function_is_refused_naming_the_tool(fn):
    with pytest.raises(ToolDefinitionError) as caught:
        ToolRegistry().register_function(fn, name="rows.stream")
    assert "'rows.stream'" in str(caught.value)
    assert caught.value.problems[0] == REFUSAL, caught.value.problems


def test_the_decorator_refuses_an_async_generator_and_registers_nothing():
    registry = ToolRegistry()
    with pytest.raises(ToolDefinitionError, match="a generator function cannot be a tool"):
        registry.tool("rows.stream")(streams_rows)
    assert "rows.stream" not in registry


def test_the_generator_problem_comes_with_every_other_one():
    def stream(count) -> int:  # no description, no annotation either
        yield count

    problems = pytest.raises(ToolDefinitionError, ToolRegistry().register_function, stream,
                             name="rows.stream", idempotent="no").value.problems
    assert REFUSAL in problems
    assert any("no description" in p for p in problems)
    assert any("'count' has no type annotation" in p for p in problems)
    assert any(p.startswith("idempotent") for p in problems)


def test_a_function_returning_the_whole_result_still_registers_and_runs():
    def rows(count: int) -> list[int]:
        """The row numbers."""
        return list(range(count))

    async def counted(count: int) -> int:
        """A count."""
        return count

    registry = ToolRegistry()
    context = ToolContext(idempotency_key="k")
    listed = registry.register_function(rows, name="rows.list")
    awaited = registry.register_function(counted, name="rows.count")
    assert asyncio.run(listed.invoke({"count": 2}, context)) == {"value": [0, 1]}
    assert asyncio.run(awaited.invoke({"count": 2}, context)) == {"value": 2}
