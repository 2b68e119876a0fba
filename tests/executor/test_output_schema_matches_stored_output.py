"""A tool's output schema names exactly the fields its stored output has.

The schema was pydantic's validation-mode one: aliases as the names, computed fields left out.
The executor stores ``model_dump(mode="json")``, which writes field names unless the model
serializes by alias, computed fields included. A plan then passed validation with a reference
to ``m.from`` and failed at run time (the output held ``from_``), while ``m.from_`` and
``m.size``, which would have worked, were refused; the prompt listed the wrong fields too.
"""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field, computed_field
from pydantic.dataclasses import dataclass as pydantic_dataclass
from typing_extensions import TypedDict

from executor.records import RunStatus
from planner.validation import validate_plan
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolRegistry, register_builtin_tools, register_http_tool


class Msg(BaseModel):
    """A message whose sender field has an alias and whose size is computed."""

    from_: str = Field(alias="from")
    body: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def size(self) -> int:
        """Length of the body."""
        return len(self.body)


class ByAlias(BaseModel):
    """Serialized by alias, inside a model that is not."""

    model_config = ConfigDict(serialize_by_alias=True)

    class_: str = Field(alias="class")


class ByName(BaseModel):
    """Serialized by field name, inside a model that serializes by alias."""

    to_: str = Field(alias="to")


@pydantic_dataclass(config=ConfigDict(serialize_by_alias=True))
class DataByAlias:
    """A dataclass serialized by alias."""

    if_: str = Field(alias="if")


class Typed(TypedDict):
    """A TypedDict: written as the model around it is."""

    in_: Annotated[str, Field(alias="in")]


class OuterByAlias(BaseModel):
    """Aliases outside, one nested model written by field name."""

    model_config = ConfigDict(serialize_by_alias=True)

    from_: str = Field(alias="from")
    plain: ByName
    typed: Typed


class Outer(BaseModel):
    """Field names outside, a nested model and a dataclass written by alias."""

    from_: str = Field(alias="from")
    tagged: ByAlias
    data: DataByAlias
    typed: Typed


def _registry() -> tuple[ToolRegistry, list[object]]:
    registry = ToolRegistry()
    seen: list[object] = []

    @registry.tool("mail.fetch")
    def fetch(folder: str) -> Msg:
        """Fetch the newest message."""
        return Msg.model_validate({"from": "alice@example.com", "body": "hi"})

    @registry.tool("text.keep")
    def keep(value: str) -> str:
        """Keep a text."""
        seen.append(value)
        return value

    @registry.tool("num.keep")
    def keep_number(value: int) -> int:
        """Keep a number."""
        seen.append(value)
        return value

    return registry, seen


def _plan(*refs: tuple[str, str]) -> dict:
    steps = [{"id": "m", "tool": "mail.fetch", "args": {"folder": "inbox"}}]
    steps += [{"id": f"k{i}", "tool": tool, "args": {"value": {"ref": ref}}}
              for i, (tool, ref) in enumerate(refs)]
    return {"goal": "g", "steps": steps}


def _keys(schema: dict) -> list[str]:
    return sorted(schema["properties"])


def test_references_to_the_stored_field_names_pass_validation_and_resolve(engine, tmp_path):
    registry, seen = _registry()
    plan = _plan(("text.keep", "m.from_"), ("num.keep", "m.size"))
    report = validate_plan(plan, registry)
    assert report.ok, report.problems
    record = run_plan(make_runner(engine, registry, tmp_path), engine, plan)
    assert record.status is RunStatus.SUCCEEDED, [s.error for s in record.steps]
    assert seen == ["alice@example.com", 2] or seen == [2, "alice@example.com"]
    assert sorted(record.steps[0].output) == ["body", "from_", "size"]


def test_a_reference_to_an_alias_the_output_does_not_hold_is_refused():
    registry, _ = _registry()
    report = validate_plan(_plan(("text.keep", "m.from")), registry)
    assert not report.ok
    [problem] = report.problems
    assert problem.code.value == "ref_unknown_field"
    assert "from_" in problem.message and "size" in problem.message


def test_the_output_schema_lists_the_stored_fields_with_their_types():
    registry, _ = _registry()
    spec = registry.get("mail.fetch")
    schema = spec.info().output_schema
    assert _keys(schema) == ["body", "from_", "size"]
    assert schema["properties"]["size"]["type"] == "integer"
    assert schema["properties"]["from_"]["type"] == "string"
    assert _keys(schema) == sorted(spec.shape(Msg.model_validate({"from": "a", "body": "b"})))


@pytest.mark.parametrize("model, value", [
    (Outer, {"from": "a", "tagged": {"class": "c"}, "data": {"if": "i"}, "typed": {"in": "n"}}),
    (OuterByAlias, {"from": "a", "plain": {"to": "t"}, "typed": {"in": "n"}}),
], ids=["names-outside", "aliases-outside"])
def test_each_nested_model_is_described_as_it_is_written(model, value):
    registry = ToolRegistry()

    @registry.tool("x.out", output_model=model)
    def out() -> BaseModel:
        """Returns the output under test."""
        return model.model_validate(value)

    spec = registry.get("x.out")
    schema = spec.output_schema()
    stored = spec.shape(model.model_validate(value))
    assert _keys(schema) == sorted(stored)
    nested = {k: v for k, v in stored.items() if isinstance(v, dict)}
    assert len(nested) == len(value) - 1
    for name, inner in nested.items():
        ref = schema["properties"][name]["$ref"].rsplit("/", 1)[-1]
        assert _keys(schema["$defs"][ref]) == sorted(inner), name


def test_http_outputs_keep_their_wire_names(tmp_path):
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path)
    assert "json" in registry.get("http.request").output_schema()["properties"]
    register_http_tool(registry, name="mail.peek", url="https://mail.example/peek",
                       method="GET", description="Peek.",
                       input_schema={"type": "object", "properties": {}},
                       output_schema={"type": "object", "required": ["from"],
                                      "properties": {"from": {"type": "string"},
                                                     "class": {"type": "string"}}})
    assert _keys(registry.get("mail.peek").output_schema()) == ["class", "from"]
