"""An output model is plain only when the classes it holds are: a nested model of the tool's own
redefining what pydantic calls while writing it (``__getattribute__``) made its output shaped on
the event loop, its code run there, because only the outer model's classes were looked at."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel

from tools.output_checks import light_fault
from tools.output_kinds import kind_of, runs_own_code


class Watched(BaseModel):
    n: int = 1

    def __getattribute__(self, name: str) -> Any:  # pydantic reads __dict__ through it
        return super().__getattribute__(name)


class HoldsWatched(BaseModel):
    inner: Watched


@dataclasses.dataclass
class Computed:
    n: int = 1

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


class HoldsComputed(BaseModel):
    inner: Computed


class Plain(BaseModel):
    n: int = 1

    def describe(self) -> str:  # a method of its own pydantic never calls
        return str(self.n)


class HoldsPlain(BaseModel):
    inner: Plain


def test_a_nested_model_redefining_what_pydantic_calls_is_not_plain():
    assert runs_own_code(HoldsWatched) and not kind_of(HoldsWatched)[3]
    assert light_fault({"inner": {"n": 1}}, HoldsWatched) == (False, None)


def test_a_nested_dataclass_read_through_its_own_code_is_not_plain():
    assert runs_own_code(HoldsComputed) and not kind_of(HoldsComputed)[3]


def test_a_nested_model_with_methods_of_its_own_stays_plain():
    assert not runs_own_code(HoldsPlain) and kind_of(HoldsPlain)[3]
    assert light_fault({"inner": {"n": 1}}, HoldsPlain) == (True, None)
