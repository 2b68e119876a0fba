"""An output's size is counted from what pydantic writes, not from what a subclass says it holds.

The size check read a dict with ``.items()``, a list by iterating it and a text with ``len()``:
a subclass of the tool's own that redefines them was counted as nearly empty, while pydantic
writes the dict, list or text itself (read in C). One such dict shared at each of 60 levels
passed the check; writing it out took 2**60 items (the run loop of an async tool held for
as long as the process lived). Sets and deques are written through their own iteration, and
counted so.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import pytest

from tools import ToolContext, ToolError, ToolRegistry
from tools.output_checks import oversized

CTX = ToolContext(idempotency_key="k")
LONG = "x" * 1000


class Quiet(dict):
    """A dict that says it holds nothing."""

    def items(self):  # type: ignore[override]
        return iter(())

    def keys(self):  # type: ignore[override]
        return iter(())

    def values(self):  # type: ignore[override]
        return iter(())

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


class QuietList(list):
    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


class QuietTuple(tuple):
    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


class ShortText(str):
    def __len__(self) -> int:
        return 0


class ShortBytes(bytes):
    def __len__(self) -> int:
        return 0


class LoudSet(frozenset):
    """A frozenset written through its own iteration (as pydantic writes it): three texts."""

    def __iter__(self):
        return iter([LONG, LONG + "y", LONG + "z"])


@pytest.mark.parametrize("value", [
    pytest.param(Quiet(a=LONG), id="dict"),
    pytest.param(QuietList([LONG]), id="list"),
    pytest.param(QuietTuple([LONG]), id="tuple"),
    pytest.param([ShortText(LONG)], id="str"),
    pytest.param({ShortText(LONG): 1}, id="str-key"),
    pytest.param([ShortBytes(LONG.encode())], id="bytes"),
    pytest.param(LoudSet(), id="frozenset-own-iteration"),
    pytest.param(collections.OrderedDict(a=Quiet(b=LONG)), id="ordered-dict"),
])
def test_a_subclass_is_counted_as_pydantic_writes_it(value):
    assert oversized({"value": value}, limit=500) is not None


def test_plain_bytes_count_their_length():
    assert oversized({"value": [LONG.encode()]}, limit=500) == ("value", 1004)  # ["x…"]


def _quiet_shared(levels: int) -> dict[str, Any]:
    node: Any = "x" * 10
    for _ in range(levels):
        node = Quiet(a=node, b=node)
    return {"data": node}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_dict_subclass_shared_at_each_of_60_levels_is_refused_as_too_large(kind):
    registry = ToolRegistry()
    if kind == "sync":
        @registry.tool("x.shared")
        def shared() -> dict:
            """Returns one quiet dict shared at each of 60 levels."""
            return _quiet_shared(60)
    else:
        @registry.tool("x.shared")
        async def shared() -> dict:
            """Returns one quiet dict shared at each of 60 levels."""
            return _quiet_shared(60)

    with pytest.raises(ToolError) as caught:
        asyncio.run(registry.get("x.shared").invoke({}, CTX))
    assert caught.value.code == "tool_output_too_large"
    assert str(caught.value).startswith("x.shared: output field value.data.a.a")


class Fibbing(int):
    def bit_length(self) -> int:
        return 1

    def __str__(self) -> str:
        return "1"

    __repr__ = __str__


def test_an_int_subclass_that_hides_its_length_is_refused_as_too_long():
    registry = ToolRegistry()

    @registry.tool("x.big")
    def big() -> dict:
        """Returns an integer of 5,000 digits."""
        return {"n": Fibbing(10 ** 5000)}

    with pytest.raises(ToolError) as caught:
        asyncio.run(registry.get("x.big").invoke({}, CTX))
    assert caught.value.code == "tool_output_int_too_long"
