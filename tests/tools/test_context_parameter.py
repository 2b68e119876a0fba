"""The ``ToolContext`` parameter is the executor's to fill, however it is annotated.

Written ``ToolContext | None = None``, ``Optional[ToolContext]`` or ``Annotated[ToolContext,
...]`` it is still the context: kept out of the input schema (a plan could otherwise forge
the idempotency key, the secrets or the workspace) and handed the real one. Any other
annotation that holds ``ToolContext``, however deep (a model's or dataclass's field, a
container's item, an ``input_model=``), is refused at registration, naming tool, parameter
and the path to it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, ClassVar, Optional, Union

import pytest
from pydantic import BaseModel, BeforeValidator, PlainValidator, PrivateAttr, SkipValidation
from typing_extensions import TypedDict  # pydantic refuses typing's before Python 3.12

from tools import ToolContext, ToolDefinitionError, ToolRegistry

REAL = ToolContext(idempotency_key="run-1:a", run_id="run-1", step_id="a",
                   secrets={"CRM_TOKEN": "tok-real"})


def optional_union(x: int, context: ToolContext | None = None) -> str:
    """Report the context it was handed."""
    return repr(context)


def optional_typing(x: int, context: Optional[ToolContext] = None) -> str:  # noqa: UP045
    """Report the context it was handed."""
    return repr(context)


def union_none_first(x: int, context: Union[None, ToolContext] = None) -> str:  # noqa: UP007
    """Report the context it was handed."""
    return repr(context)


def annotated(x: int, context: Annotated[ToolContext, "from the executor"]) -> str:
    """Report the context it was handed."""
    return repr(context)


def annotated_optional(x: int, context: Annotated[ToolContext | None, "x"] = None) -> str:
    """Report the context it was handed."""
    return repr(context)


@pytest.mark.parametrize("fn", [optional_union, optional_typing, union_none_first, annotated,
                                annotated_optional])
def test_an_optional_or_annotated_context_is_hidden_from_the_plan_and_gets_the_real_one(fn):
    spec = ToolRegistry().register_function(fn, name="demo.ctx")
    assert spec.context_param == "context"
    assert list(spec.input_schema()["properties"]) == ["x"]
    assert "ToolContext" not in str(spec.input_schema())
    assert asyncio.run(spec.invoke({"x": 1}, REAL)) == {"value": repr(REAL)}


@pytest.mark.parametrize("fn", [optional_union, annotated])
def test_a_plan_cannot_hand_a_tool_a_forged_context(fn):
    spec = ToolRegistry().register_function(fn, name="demo.ctx")
    forged = {"x": 1, "context": {"idempotency_key": "forged", "workspace": "/"}}
    with pytest.raises(ValueError, match="extra"):
        asyncio.run(spec.invoke(forged, REAL))


def in_a_list(x: int, contexts: list[ToolContext]) -> str:
    """Takes contexts in a list."""
    return ""


def with_another_type(x: int, context: ToolContext | str) -> str:
    """Takes a context or a string."""
    return ""


def in_a_mapping(x: int, contexts: dict[str, Optional[ToolContext]]) -> str:  # noqa: UP045
    """Takes contexts by name."""
    return ""


@pytest.mark.parametrize(("fn", "param"), [(in_a_list, "contexts"),
                                            (with_another_type, "context"),
                                            (in_a_mapping, "contexts")])
def test_any_other_annotation_holding_a_context_is_refused_naming_tool_and_parameter(fn, param):
    with pytest.raises(ToolDefinitionError) as refused:
        ToolRegistry().register_function(fn, name="demo.ctx")
    (problem,) = refused.value.problems
    assert f"parameter {param!r}" in problem and "ToolContext" in problem
    assert "'demo.ctx'" in str(refused.value)


def test_two_context_parameters_are_refused():
    def twice(x: int, first: ToolContext, second: ToolContext | None = None) -> str:
        """Takes the context twice."""
        return ""

    with pytest.raises(ToolDefinitionError) as refused:
        ToolRegistry().register_function(twice, name="demo.ctx")
    (problem,) = refused.value.problems
    assert "'first'" in problem and "'second'" in problem


class Query(BaseModel):
    term: str


def test_an_optional_context_goes_with_an_explicit_input_model():
    def search(query: Query, context: ToolContext | None = None) -> str:
        """Search."""
        return f"{query.term}@{context.idempotency_key if context else None}"

    spec = ToolRegistry().register_function(search, name="demo.search", input_model=Query)
    assert spec.context_param == "context"
    assert asyncio.run(spec.invoke({"term": "t"}, REAL)) == {"value": "t@run-1:a"}


# A ToolContext nested in what a parameter takes is as much a plan input as a top-level one:
# the plan would write the idempotency key, the secrets and the workspace the tool trusts.

class WithContext(BaseModel):
    ctx: ToolContext
    x: int


class Item(BaseModel):
    name: str
    ctx: Optional[ToolContext] = None  # noqa: UP045


class Batch(BaseModel):
    items: list[Item]


@dataclasses.dataclass
class Row:
    ctx: ToolContext


class Record(TypedDict):
    ctx: ToolContext


class Tree(BaseModel):
    """Refers to itself: the search for a ToolContext must end."""

    children: list[Tree] = []
    ctx: ToolContext | None = None


class Plain(BaseModel):
    children: list[Plain] = []
    label: str = ""


def in_a_model(req: WithContext) -> str:
    """Takes a model holding a context."""
    return ""


def deep_in_a_model(batch: Batch) -> str:
    """Takes a model whose items hold a context."""
    return ""


def in_a_dataclass(row: Row) -> str:
    """Takes a dataclass holding a context."""
    return ""


def in_a_typed_dict_list(records: list[Record]) -> str:
    """Takes records holding a context."""
    return ""


def in_a_mapping_of_models(by_name: dict[str, WithContext]) -> str:
    """Takes models holding a context by name."""
    return ""


def in_a_recursive_model(tree: Tree) -> str:
    """Takes a tree whose nodes hold a context."""
    return ""


@pytest.mark.parametrize(("fn", "param", "path"), [
    (in_a_model, "req", "req.ctx"),
    (deep_in_a_model, "batch", "batch.items[*].ctx"),
    (in_a_dataclass, "row", "row.ctx"),
    (in_a_typed_dict_list, "records", "records[*].ctx"),
    (in_a_mapping_of_models, "by_name", "by_name[*].ctx"),
    (in_a_recursive_model, "tree", "tree.ctx"),
    (in_a_list, "contexts", "contexts[*]"),
])
def test_a_context_nested_in_a_parameter_is_refused_naming_tool_parameter_and_path(fn, param,
                                                                                     path):
    with pytest.raises(ToolDefinitionError) as refused:
        ToolRegistry().register_function(fn, name="demo.ctx")
    (problem,) = refused.value.problems
    assert "'demo.ctx'" in str(refused.value)
    assert f"parameter {param!r}" in problem and "ToolContext" in problem
    assert path in problem
    assert "top-level parameter" in problem


class Two(BaseModel):
    first: ToolContext
    second: list[ToolContext]


def test_every_nested_context_is_named_at_once():
    def both(two: Two) -> str:
        """Takes a model holding two contexts."""
        return ""

    with pytest.raises(ToolDefinitionError) as refused:
        ToolRegistry().register_function(both, name="demo.ctx")
    (problem,) = refused.value.problems
    assert "two.first" in problem and "two.second[*]" in problem


def test_an_input_model_holding_a_context_is_refused():
    def search(req: WithContext, context: ToolContext) -> str:
        """Search."""
        return ""

    with pytest.raises(ToolDefinitionError) as refused:
        ToolRegistry().register_function(search, name="demo.ctx", input_model=WithContext)
    (problem,) = refused.value.problems
    assert "'demo.ctx'" in str(refused.value)
    assert "parameter 'req'" in problem and "req.ctx" in problem
    assert "top-level parameter" in problem


def test_models_without_a_context_still_register_recursive_ones_included():
    def walk(tree: Plain, batches: list[dict[str, Query]], context: ToolContext) -> int:
        """Count the nodes."""
        return 1 + len(tree.children)

    spec = ToolRegistry().register_function(walk, name="demo.walk")
    assert list(spec.input_schema()["properties"]) == ["tree", "batches"]
    assert asyncio.run(spec.invoke({"tree": {"children": [{}]}, "batches": []}, REAL)) == {
        "value": 2}


class Ask(BaseModel):
    context: str


def test_an_input_model_field_named_like_the_context_parameter_is_a_plain_plan_input():
    """The model's ``context`` field is the plan's; the parameter still gets the executor's."""
    def answer(ask: Ask, context: ToolContext) -> str:
        """Answer."""
        return f"{ask.context}|{context.idempotency_key}"

    spec = ToolRegistry().register_function(answer, name="demo.ask", input_model=Ask)
    assert spec.context_param == "context" and spec.model_param == "ask"
    assert asyncio.run(spec.invoke({"context": "from the plan"}, REAL)) == {
        "value": "from the plan|run-1:a"}


# pydantic's core schema does not always name the type it validates: a PlainValidator's
# function or SkipValidation's "any" hides it, yet the plan still writes what the tool takes.

def _forge(value):
    return ToolContext(**value)


class PlainValidated(BaseModel):
    ctx: Annotated[ToolContext, PlainValidator(_forge)]


class Skipped(BaseModel):
    ctx: SkipValidation[ToolContext]


class BeforeValidated(BaseModel):
    ctx: Annotated[ToolContext, BeforeValidator(lambda v: v)] | None = None


@dataclasses.dataclass
class SkippedRow:
    ctx: SkipValidation[ToolContext]


class SkippedRecord(TypedDict):
    ctx: SkipValidation[ToolContext]


def behind_a_plain_validator_in_a_model(req: PlainValidated) -> str:
    """Takes a model whose context field has a plain validator."""
    return ""


def behind_skip_validation_in_a_model(req: Skipped) -> str:
    """Takes a model whose context field skips validation."""
    return ""


def behind_a_plain_validator_in_a_list(
        reqs: list[Annotated[ToolContext, PlainValidator(_forge)]]) -> str:
    """Takes contexts, each made by a plain validator."""
    return ""


def behind_skip_validation_in_a_mapping(reqs: dict[str, SkipValidation[ToolContext]]) -> str:
    """Takes contexts by name, unvalidated."""
    return ""


def behind_skip_validation_in_a_dataclass(row: SkippedRow) -> str:
    """Takes a dataclass whose context field skips validation."""
    return ""


def behind_skip_validation_in_a_typed_dict(rows: list[SkippedRecord]) -> str:
    """Takes records whose context field skips validation."""
    return ""


def behind_a_validator_in_a_union(req: BeforeValidated | int) -> str:
    """Takes a model or a number."""
    return ""


def behind_a_plain_validator_at_the_top(
        req: Annotated[ToolContext, PlainValidator(_forge)] | int) -> str:
    """Takes a context or a number."""
    return ""


@pytest.mark.parametrize(("fn", "param", "path"), [
    (behind_a_plain_validator_in_a_model, "req", "req.ctx"),
    (behind_skip_validation_in_a_model, "req", "req.ctx"),
    (behind_a_plain_validator_in_a_list, "reqs", "reqs[*]"),
    (behind_skip_validation_in_a_mapping, "reqs", "reqs[*]"),
    (behind_skip_validation_in_a_dataclass, "row", "row.ctx"),
    (behind_skip_validation_in_a_typed_dict, "rows", "rows[*].ctx"),
    (behind_a_validator_in_a_union, "req", "req.ctx"),
    (behind_a_plain_validator_at_the_top, "req", "holds a ToolContext,"),
])
def test_a_context_the_core_schema_hides_is_still_refused(fn, param, path):
    with pytest.raises(ToolDefinitionError) as refused:
        ToolRegistry().register_function(fn, name="demo.ctx")
    (problem,) = refused.value.problems
    assert "'demo.ctx'" in str(refused.value)
    assert f"parameter {param!r}" in problem and "ToolContext" in problem
    assert path in problem
    assert "top-level parameter" in problem


def test_a_forged_context_never_reaches_a_tool_through_a_plain_validator():
    """The reviewer's case: the plan's dict became the tool's context, key and secrets."""
    def run(req: PlainValidated) -> str:
        """Use the context."""
        return req.ctx.idempotency_key

    with pytest.raises(ToolDefinitionError, match=r"req\.ctx"):
        ToolRegistry().register_function(run, name="demo.ctx")


class Hidden(BaseModel):
    """Private attributes and class variables are no plan input: still accepted."""

    label: str = ""
    _ctx: ToolContext | None = PrivateAttr(default=None)
    kind: ClassVar[type[ToolContext]] = ToolContext


class SelfRef(BaseModel):
    """Refers to itself through a validator the core schema hides: the walk must end."""

    children: list[Annotated[SelfRef, PlainValidator(lambda v: v)]] = []
    label: str = ""


def test_a_model_with_private_or_class_level_contexts_and_hidden_recursion_still_registers():
    def use(hidden: Hidden, tree: SelfRef) -> str:
        """Read the label."""
        return hidden.label

    spec = ToolRegistry().register_function(use, name="demo.hidden")
    assert list(spec.input_schema()["properties"]) == ["hidden", "tree"]
