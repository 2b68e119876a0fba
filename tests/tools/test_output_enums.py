"""An enum member in a tool's output is read as what pydantic writes: its value.

The output checks took an enum member for a scalar of 2 bytes and never looked inside it,
while pydantic writes its ``.value`` in full: a value sharing one list at each of 40 levels
passed the 1,000,000,000-byte limit, one at 20 levels was shaped on the event loop for
seconds, and a model in it whose computed field called ``sys.exit()`` ran on the loop. An
enum class of the tool's own with code pydantic calls (``_missing_`` while an output model
reads text as a member, an own ``value``) counted as plain, its model shaped on the loop.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest
from pydantic import BaseModel, RootModel

from tools.output_checks import (LIGHT_OUTPUT_MAX_BYTES, light_fault, oversized, output_fault,
                                 size_fault)
from tools.output_kinds import kind_of, runs_own_code
from tests.support.exiting_model import Exiting


class Holder(BaseModel):
    """An output model that holds anything."""

    value: Any


def _shared(levels: int, leaf: Any = "x" * 100) -> Any:
    node = leaf
    for _ in range(levels):
        node = [node, node]
    return node


def _enum(value: Any) -> enum.Enum:
    """A member whose value is ``value``, set after the class is made (an enum hashes the
    values it is made with)."""
    member = enum.Enum("Made", {"A": 1}).A
    member._value_ = value
    return member


class Small(enum.Enum):
    RED = "red"
    BIG = "y" * 1000


class Lenient(enum.Enum):
    RED = "red"

    @classmethod
    def _missing_(cls, value: object) -> Lenient:
        return cls.RED


class OwnValue(enum.Enum):
    RED = "red"

    @property
    def value(self) -> str:  # type: ignore[override]
        return "own"


class Counted(enum.Enum):
    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last: list[Any]) -> str:
        return name.lower()  # only called while the class is made

    RED = enum.auto()


def test_an_enum_whose_value_is_shared_at_each_of_40_levels_is_too_large():
    member = _enum(_shared(40))
    path, _, code = size_fault({"e": member})  # type: ignore[misc]
    assert code == "tool_output_too_large" and path.startswith("e[0][0]")


def test_an_enum_counts_the_size_of_its_value():
    assert oversized({"e": Small.BIG}, limit=500) == ("e", 1002)  # "yy…y" as the field e
    assert oversized({"e": Small.RED}, limit=500) is None


def test_a_root_model_counts_its_root_an_enum_as_its_value():
    class Root(RootModel[Any]):
        pass

    assert oversized({"r": Root(Small.BIG)}, limit=500) == ("r", 1002)
    assert light_fault({"r": Root(_enum(Exiting()))}, Holder) == (False, None)


def test_an_enum_key_counts_the_size_of_its_value():
    assert oversized({Small.BIG: 1}, limit=500) == ("(the whole output)", 1006)


def test_an_enum_key_counts_each_part_of_a_tuple_value_once_by_id():
    part: Any = "x" * 10
    for _ in range(40):
        part = (part, part)
    member = _enum(part)  # written as 2**40 texts joined by commas
    assert size_fault({member: 1})[2] == "tool_output_too_large"  # type: ignore[index]


def test_a_small_plain_enum_is_light():
    assert light_fault({"e": Small.RED, Small.RED: 1}, Holder) == (True, None)


# Made by the test (a failing test shows its values: a computed field's repr exits).
@pytest.mark.parametrize("make", [
    pytest.param(lambda: _enum("x" * 70_000), id="value-over-64-KiB"),
    pytest.param(lambda: _enum(Exiting()), id="value-a-model-with-a-computed-field"),
    pytest.param(lambda: OwnValue.RED, id="own-value-property"),
    pytest.param(lambda: Lenient.RED, id="own-missing"),
])
def test_an_enum_that_is_large_or_runs_own_code_is_not_light(make):
    as_value, as_key = light_fault({"e": make()}, Holder), light_fault({make(): 1}, Holder)
    assert as_value == as_key == (False, None)


def test_the_light_walk_reads_no_more_than_its_budget_inside_an_enum():
    assert light_fault({"e": _enum(_shared(40))}, Holder) == (False, None)
    assert LIGHT_OUTPUT_MAX_BYTES < 2 ** 40


def test_a_computed_field_inside_an_enum_is_read_by_the_whole_check():
    with pytest.raises(SystemExit):  # in a tool thread, where the attempt fails with it
        size_fault([_enum(Exiting())])


@pytest.mark.parametrize(("member", "path", "code"), [
    pytest.param(_enum({"rows": [1.0, math.nan]}), "e.rows[1]", "tool_output_not_finite",
                 id="nan"),
    pytest.param(_enum({1: "a", "1": "b"}), "e", "tool_output_duplicate_key", id="keys"),
    pytest.param(_enum(_shared(300, 1)), None, "tool_output_too_deep", id="depth"),
])
def test_what_json_cannot_hold_inside_an_enum_is_found(member, path, code):
    found = output_fault({"e": member})
    assert found is not None and found[2] == code
    assert path is None or found[0] == path


def test_an_enum_whose_value_holds_it_is_a_cycle():
    member = _enum([1])
    member.value.append(member)
    assert output_fault({"e": member})[2] == "tool_output_cyclic"  # type: ignore[index]
    looped = _enum(1)
    looped._value_ = looped
    assert output_fault({"e": looped})[2] == "tool_output_cyclic"  # type: ignore[index]


def test_an_enum_key_whose_value_holds_it_is_refused_before_it_is_written():
    member = _enum(1)
    member._value_ = (member,)  # pydantic-core recursed until the process crashed
    found = output_fault({2: 3, member: 1})  # its text is looked for, to compare it with 2
    assert found is not None and found[2] == "tool_output_cyclic"


def test_an_enum_key_and_its_value_as_text_are_two_keys_written_as_one():
    found = output_fault({Small.RED: 1, "red": 2, 3: 4})
    assert found is not None and found[2] == "tool_output_duplicate_key"


@pytest.mark.parametrize("cls", [Lenient, OwnValue], ids=lambda c: c.__name__)
def test_an_enum_class_with_code_pydantic_calls_is_not_plain(cls):
    assert not kind_of(cls)[3]

    class Out(BaseModel):
        field: cls  # type: ignore[valid-type]

    assert runs_own_code(Out)
    assert not kind_of(Out)[3]


def test_an_enum_whose_members_are_models_is_not_plain_in_an_output_model():
    class Held(enum.Enum):
        A = Exiting()

    class Out(BaseModel):
        field: Held

    assert runs_own_code(Out)


@pytest.mark.parametrize("cls", [Small, Counted], ids=lambda c: c.__name__)
def test_a_plain_enum_class_and_its_output_model_stay_plain(cls):
    assert kind_of(cls)[3]

    class Out(BaseModel):
        field: cls  # type: ignore[valid-type]

    assert not runs_own_code(Out)
    assert kind_of(Out)[3]
