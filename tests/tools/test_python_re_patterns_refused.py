"""A tool whose call would match a pattern with Python's ``re`` is refused at registration.

Plan checks run patterns on Rust regex, but the call validates its arguments with the input
model, on the executor's event loop: with ``regex_engine="python-re"`` or a compiled
``re.Pattern``, pydantic matches with ``re``, and ``^(a+)+$`` against 30 ``a``'s and a ``!``
held the GIL, and with it the whole run, worker or ``baton serve``, for minutes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict

from tools import ToolContext, ToolDefinitionError, ToolRegistry, ToolSpec
from tools.regex_engines import python_re_problems

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


# A tagged union's choices are a mapping tag -> schema: its keys are the tags' values, which may
# be any word, the keys of a core schema included. Each must be walked like any other tag.
_TAGS_LIKE_SCHEMA_KEYS = ("config", "default", "metadata", "members", "serialization",
                          "computed_fields", "expected", "json_schema_input_schema",
                          "definitions", "regex_engine", "ref", "type", "schema", "choices")


def _tagged_union_tool(tag: str, base: type, pattern: Any, config: ConfigDict | None) -> Any:
    """A tool whose argument ``mode`` is a union of two ``base`` classes, told apart by ``kind``.

    The one tagged ``tag`` has ``name`` with ``pattern``; ``config`` is the outer model's.
    """
    fields = {"kind": Literal[tag], "name": Annotated[str, Field(pattern=pattern)]}
    if base is TypedDict:
        tagged: Any = TypedDict("Tagged", fields)  # type: ignore[misc]
        other: Any = TypedDict("Other", {"kind": Literal["zzz-other"]})  # type: ignore[misc]
    else:
        extra = {"model_config": config} if config is not None else {}
        tagged = type("Tagged", (BaseModel,), {"__annotations__": fields, **extra})
        other = type("Other", (BaseModel,),
                     {"__annotations__": {"kind": Literal["zzz-other"]}, **extra})
    outer_ns: dict[str, Any] = {"__annotations__": {
        "mode": Annotated[Union[tagged, other], Field(discriminator="kind")]}}
    if config is not None:
        outer_ns["model_config"] = config
    outer = type("Outer", (BaseModel,), outer_ns)

    def look(args: Any) -> int:
        """Look a record up."""
        return 1

    look.__annotations__ = {"args": outer, "return": int}
    return look


@pytest.mark.parametrize("tag", _TAGS_LIKE_SCHEMA_KEYS)
def test_a_python_re_pattern_under_any_tag_of_a_tagged_union_is_refused(tag):
    look = _tagged_union_tool(tag, BaseModel, NESTED_PLUS, ConfigDict(regex_engine="python-re"))
    assert "argument 'args' (at args.mode.name) matches its pattern" in refusal(look)


@pytest.mark.parametrize("tag", _TAGS_LIKE_SCHEMA_KEYS)
def test_a_compiled_pattern_under_any_tag_of_a_tagged_union_is_refused(tag):
    look = _tagged_union_tool(tag, BaseModel, re.compile(NESTED_PLUS), None)
    assert "argument 'args' (at args.mode.name) matches its pattern" in refusal(look)


@pytest.mark.parametrize("tag", _TAGS_LIKE_SCHEMA_KEYS)
def test_typed_dicts_under_any_tag_keep_the_python_re_engine_around_them(tag):
    """A tag named regex_engine (or config) is a value: it sets no engine for what is inside."""
    look = _tagged_union_tool(tag, TypedDict, NESTED_PLUS, ConfigDict(regex_engine="python-re"))
    assert "argument 'args' (at args.mode.name) matches its pattern" in refusal(look)


@pytest.mark.parametrize("tag", ("config", "regex_engine", "default"))
def test_a_string_pattern_on_the_default_engine_under_a_tag_registers(tag):
    look = _tagged_union_tool(tag, BaseModel, NESTED_PLUS, None)
    ToolRegistry().register_function(look, name="x.look")


def test_a_python_re_pattern_in_a_plain_union_choice_is_refused():
    def look(code: Union[int, Annotated[str, Field(pattern=re.compile(NESTED_PLUS))]]) -> int:
        """Look a record up."""
        return 1

    assert "argument 'code' matches its pattern" in refusal(look)


class _FromANewerPydantic:
    """A model whose core schema has a type this pydantic-core does not know, a pattern inside."""
    model_config = ConfigDict()
    __pydantic_core_schema__ = {"type": "some-new-wrapper", "inner": {"config": {
        "type": "str", "pattern": re.compile(NESTED_PLUS)}}}


def test_a_schema_type_not_known_is_walked_through_every_value():
    problems = python_re_problems(_FromANewerPydantic, _RustInside)  # type: ignore[arg-type]
    assert len(problems) == 1 and "matches its pattern '^(a+)+$'" in problems[0], problems
