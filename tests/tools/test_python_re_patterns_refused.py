"""A tool whose call would match a pattern with Python's ``re`` is refused at registration.

Plan checks run patterns on Rust regex, but the call validates its arguments with the input
model, on the executor's event loop: with ``regex_engine="python-re"`` or a compiled
``re.Pattern``, pydantic matches with ``re``, and ``^(a+)+$`` against 30 ``a``'s and a ``!``
held the GIL, and with it the whole run, worker or ``baton serve``, for minutes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict

from tools import ToolContext, ToolDefinitionError, ToolRegistry, ToolSpec

NESTED_PLUS = r"^(a+)+$"  # each extra 'a' doubles the work of a backtracking engine
ADVICE = ("with Python's re (regex_engine=\"python-re\" or a compiled re.Pattern), which can "
          "take exponential time on a crafted argument; give the pattern as a string on the "
          "default engine")


def refusal(fn: Any, **options: Any) -> str:
    with pytest.raises(ToolDefinitionError) as caught:
        ToolRegistry().register_function(fn, name="x.look", **options)
    text = str(caught.value)
    assert "'x.look'" in text, text
    return text


class _PythonReInput(BaseModel):
    model_config = ConfigDict(regex_engine="python-re", extra="forbid")
    id: Annotated[str, Field(pattern=NESTED_PLUS)]


class _RustInside(BaseModel):
    code: Annotated[str, Field(pattern=NESTED_PLUS)]


def _look_up_by_model(args: _PythonReInput) -> int:
    """Look a record up."""
    return 1


def test_a_python_re_input_model_is_refused_naming_the_argument():
    text = refusal(_look_up_by_model, input_model=_PythonReInput)
    assert f"argument 'id' matches its pattern '^(a+)+$' {ADVICE}" in text, text


def test_a_compiled_pattern_is_refused_naming_the_argument():
    def look(id: Annotated[str, Field(pattern=re.compile(NESTED_PLUS))]) -> int:
        """Look a record up."""
        return 1

    text = refusal(look)
    assert f"argument 'id' matches its pattern '^(a+)+$' {ADVICE}" in text, text


def test_a_compiled_pattern_on_a_dict_key_is_refused_with_its_place():
    def look(tags: dict[Annotated[str, Field(pattern=re.compile(NESTED_PLUS))], int]) -> int:
        """Look a record up."""
        return 1

    assert "argument 'tags' (at tags[key]) matches its pattern" in refusal(look)


def test_the_argument_is_named_as_the_plan_writes_it():
    def look(json: Annotated[str, Field(pattern=re.compile(NESTED_PLUS))]) -> int:
        """Look a record up."""
        return 1

    assert "argument 'json' matches its pattern" in refusal(look)


class _Tags(TypedDict):
    code: Annotated[str, Field(pattern=NESTED_PLUS)]


class _PythonReHolder(BaseModel):
    """A TypedDict inside takes the model's engine: its pattern runs on re too."""
    model_config = ConfigDict(regex_engine="python-re")
    tags: list[_Tags]
    kids: list[_PythonReHolder] = []  # a model that refers to itself: the walk still ends


def test_a_pattern_nested_under_a_python_re_model_is_refused_with_its_place():
    def look(item: _PythonReHolder) -> int:
        """Look a record up."""
        return 1

    text = refusal(look)
    assert "argument 'item' (at item.tags[*].code) matches its pattern" in text, text


def test_an_output_pattern_on_python_re_is_refused_too():
    def look(id: str) -> _PythonReInput:
        """Look a record up."""
        return _PythonReInput(id="a")

    text = refusal(look)
    assert "output field 'id' matches its pattern '^(a+)+$' with Python's re" in text, text
    assert "on a crafted value" in text


def test_a_spec_added_as_built_is_checked_too():
    spec = ToolSpec(name="x.look", description="Look up.", fn=_look_up_by_model,
                    input_model=_PythonReInput, output_model=_RustInside, model_param="args")
    with pytest.raises(ToolDefinitionError) as caught:
        ToolRegistry().add(spec)
    assert "argument 'id' matches its pattern '^(a+)+$' with Python's re" in str(caught.value)


class _PythonReOutside(BaseModel):
    """python-re without a pattern of its own; the model inside keeps the default engine."""
    model_config = ConfigDict(regex_engine="python-re")
    name: str
    inner: _RustInside


def test_python_re_with_no_pattern_under_it_still_registers():
    def look(item: _PythonReOutside) -> int:
        """Look a record up."""
        return 1

    ToolRegistry().register_function(look, name="x.look")


@pytest.mark.timeout(60)
def test_a_string_pattern_on_the_default_engine_registers_and_is_checked_at_call_time():
    def look(id: Annotated[str, Field(pattern=NESTED_PLUS)]) -> str:
        """Look a record up."""
        return id

    spec = ToolRegistry().register_function(look, name="x.look")
    context = ToolContext(idempotency_key="k-1")
    assert spec.bind({"id": "aaa"}, context) == {"id": "aaa"}
    with pytest.raises(ValidationError, match="should match pattern"):
        spec.bind({"id": "a" * 10_000 + "!"}, context)
