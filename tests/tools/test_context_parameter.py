"""The ``ToolContext`` parameter is the executor's to fill, however it is annotated.

Written ``ToolContext | None = None``, ``Optional[ToolContext]`` or ``Annotated[ToolContext,
...]`` it is still the context: kept out of the input schema (a plan could otherwise forge
the idempotency key, the secrets or the workspace) and handed the real one. Any other
annotation that holds ``ToolContext`` is refused at registration, naming tool and parameter.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Optional, Union

import pytest
from pydantic import BaseModel

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
