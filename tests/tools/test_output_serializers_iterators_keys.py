"""Outputs the checks did not see through fail with their own code, before anything writes them.

A model with any serializer of its own counted as a scalar: one list shared at each of 40
levels in another of its fields (2**40 items) was written out in full, holding the run loop
while memory grew. A generator (or ``iter(...)``) was not looked into at all, and pydantic
read it whole, an endless one for ever. pydantic's own faults while dumping came out as
``tool_crashed`` or a bare exception: a chain of 400 models ("Maximum serialization depth
exceeded"), a key with a lone surrogate (``UnicodeEncodeError``), a frozenset key (TypeError).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from pydantic import BaseModel, computed_field, field_serializer, model_serializer

from tools import ToolContext, ToolError, ToolRegistry
from tools.output_checks import OUTPUT_MAX_DEPTH, oversized

CTX = ToolContext(idempotency_key="k")


def _doubled(levels: int = 40) -> list[Any]:
    shared: Any = [1]
    for _ in range(levels):
        shared = [shared, shared]
    return shared


def _refused(fn: Any, code: str) -> ToolError:
    registry = ToolRegistry()
    registry.register_function(fn, name="x.out")
    with pytest.raises(ToolError) as caught:
        asyncio.run(registry.get("x.out").invoke({}, CTX))
    assert caught.value.code == code and not caught.value.retryable, caught.value
    return caught.value


def _kept(fn: Any) -> dict[str, Any]:
    registry = ToolRegistry()
    registry.register_function(fn, name="x.out")
    return asyncio.run(registry.get("x.out").invoke({}, CTX))


class Stamped(BaseModel):
    when: int
    data: list[Any]

    @field_serializer("when")
    def _when(self, when: int) -> int:  # any serializer at all (a date's format, say)
        return when


class WrapsData(BaseModel):
    data: list[Any]

    @field_serializer("data", mode="wrap")
    def _data(self, data: list[Any], handler: Any) -> Any:
        return {"rows": handler(data)}  # the handler writes the data out first


class WrapsModel(BaseModel):
    data: list[Any]

    @model_serializer(mode="wrap")
    def _all(self, handler: Any) -> Any:
        return {"wrapped": handler(self)}


class Computed(BaseModel):
    n: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def data(self) -> list[Any]:
        return _doubled()


class JsonOnly(BaseModel):
    data: list[Any]

    @field_serializer("data", when_used="json")
    def _count(self, data: list[Any]) -> int:  # the first, Python-mode dump writes it whole
        return len(data)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("make", [
    pytest.param(lambda: Stamped(when=1, data=_doubled()), id="returned-as-the-model"),
    pytest.param(lambda: {"when": 1, "data": _doubled()}, id="returned-as-a-dict"),
    pytest.param(lambda: WrapsData(data=_doubled()), id="wrap-field-serializer"),
    pytest.param(lambda: WrapsModel(data=_doubled()), id="wrap-model-serializer"),
    pytest.param(lambda: Computed(n=1), id="computed-field"),
    pytest.param(lambda: JsonOnly(data=_doubled()), id="json-only-serializer"),
])
def test_a_model_with_serializers_sharing_a_list_at_40_levels_is_too_large(make):
    output = make()

    def out() -> Any:
        """Returns a model sharing one list at each of 40 levels."""
        return output

    out.__annotations__["return"] = type(output) if isinstance(output, BaseModel) else Stamped
    error = _refused(out, "tool_output_too_large")
    assert "data[0][0]" in str(error)


@pytest.mark.timeout(20)
def test_a_model_with_serializers_inside_an_output_is_walked_too():
    inner = Stamped(when=1, data=_doubled())

    def out() -> Any:
        """Returns a model sharing one list, inside a dict."""
        return {"inner": inner}

    assert str(_refused(out, "tool_output_too_large")).startswith(
        "x.out: output field value.inner.data[0]")


class Counted(BaseModel):
    rows: list[str]

    @field_serializer("rows")
    def _count(self, rows: list[str]) -> int:
        return len(rows)


class Summarised(BaseModel):
    rows: list[Any]

    @model_serializer
    def _summary(self) -> dict[str, int]:
        return {"rows": len(self.rows)}


@pytest.mark.parametrize("output", [Counted(rows=["z" * 1000] * 10_000),
                                    Summarised(rows=[["z" * 1000] * 10_000] * 10)])
def test_a_plain_serializer_may_write_its_field_smaller(output):
    # Its field (10 MB and 100 MB as JSON) counts as a scalar: what it writes is not known.
    assert oversized({"value": output}, limit=1000) is None


@pytest.mark.timeout(20)
@pytest.mark.parametrize("make", [
    pytest.param(lambda: (row for row in [_doubled()]), id="generator"),
    pytest.param(lambda: iter([_doubled()]), id="list-iterator"),
    pytest.param(lambda: map(len, ["a"]), id="map"),
    pytest.param(itertools.count, id="endless"),
])
def test_an_iterator_in_an_output_is_refused_without_being_read(make):
    iterator = make()

    def out() -> Any:
        """Returns an iterator inside a dict."""
        return {"rows": iterator}

    error = _refused(out, "tool_output_iterator")
    assert str(error).startswith("x.out: output field value.rows is a generator or another "
                                 "iterator")
    assert "return a list" in str(error)


class Rows(BaseModel):
    rows: list[int]


@pytest.mark.timeout(20)
def test_an_endless_generator_for_a_typed_list_is_refused_before_the_model_reads_it():
    def out() -> Rows:
        """Returns a generator where the model wants a list."""
        return {"rows": itertools.count()}  # type: ignore[return-value]

    assert str(_refused(out, "tool_output_iterator")).startswith("x.out: output field rows ")


def test_a_generator_returned_whole_is_refused():
    def out() -> Any:
        """Returns a generator."""
        return (n for n in range(3))

    assert str(_refused(out, "tool_output_iterator")).startswith("x.out: output field value ")


def test_ranges_and_lists_made_from_iterators_are_kept():
    def out() -> Any:
        """Returns a list made from a generator."""
        return {"rows": list(n for n in range(3))}

    assert _kept(out) == {"value": {"rows": [0, 1, 2]}}


class Node(BaseModel):
    next: Node | None = None


def _chain(length: int) -> Node | None:
    node = None
    for _ in range(length):
        node = Node(next=node)
    return node


def test_a_chain_of_models_deeper_than_pydantic_writes_is_too_deep():
    chain = _chain(400)

    def out() -> Any:
        """Returns 400 nested models."""
        return {"n": chain}

    error = _refused(out, "tool_output_too_deep")
    assert str(error).startswith("x.out: output field value.n.next.next")
    assert f"nested {OUTPUT_MAX_DEPTH + 1} levels deep" in str(error)


def test_the_deepest_chain_of_models_pydantic_writes_is_kept():
    # value is 1 level, n 2, ..., the 253rd model is at OUTPUT_MAX_DEPTH.
    chain = _chain(OUTPUT_MAX_DEPTH - 1)

    def out() -> Any:
        """Returns as many nested models as pydantic writes."""
        return {"n": chain}

    assert _kept(out)["value"]["n"]["next"]["next"] is not None


class Loop(BaseModel):
    data: Any = None


def test_a_model_inside_itself_is_cyclic():
    looped = Loop()
    looped.data = [looped]

    def out() -> Loop:
        """Returns a model that contains itself."""
        return looped

    # (pydantic's dump writes it out a level or two before it stops: the path is in that.)
    assert str(_refused(out, "tool_output_cyclic")).startswith("x.out: output field data[0]")


@pytest.mark.parametrize("key", ["m\udce9", ("a", "b\udce9")])
def test_a_key_with_a_lone_surrogate_is_not_utf8(key):
    def out() -> Any:
        """Returns a key UTF-8 cannot encode."""
        return {"rows": {key: 1}}

    error = _refused(out, "tool_output_not_utf8")
    assert str(error).startswith("x.out: output field value.rows has a ")
    assert "lone surrogate ('\\udce9' at offset 1)" in str(error)


@pytest.mark.parametrize("key", [frozenset([1]), ("a", frozenset()), object()])
def test_a_key_pydantic_writes_no_text_for_is_a_bad_key(key):
    def out() -> Any:
        """Returns a key JSON cannot have."""
        return {"rows": {key: 1}}

    error = _refused(out, "tool_output_bad_key")
    assert str(error).startswith("x.out: output field value.rows has a ")
    assert "which JSON cannot have as a key" in str(error)


def test_text_and_number_keys_are_still_written():
    def out() -> Any:
        """Returns keys pydantic writes as text."""
        return {"rows": {"café": 1, 2: 2, ("a", 3): 3}}

    assert _kept(out) == {"value": {"rows": {"café": 1, "2": 2, "a,3": 3}}}
