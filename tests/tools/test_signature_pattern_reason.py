"""A parameter type pydantic cannot build a validator for is refused with pydantic's reason,
not only the first line of its message ("Error building "str" validator:", then nothing)."""

# No ``from __future__ import annotations``: the hint must hold each test's own pattern.
from typing import Annotated

import pytest
from pydantic import Field

from tools import ToolDefinitionError, ToolRegistry


def refusal(pattern: str) -> str:
    with pytest.raises(ToolDefinitionError) as refused:
        @ToolRegistry().tool("t.look")
        def look(n: Annotated[str, Field(pattern=pattern)]) -> str:
            """Look."""
            return n
    return str(refused.value)


def test_a_look_around_pattern_is_refused_saying_why():
    message = refusal(r"^(?=a)a+$")
    assert "look-around, including look-ahead and look-behind, is not supported" in message
    assert "\n" not in message.split("parameter 'n'")[1] and "^^^" not in message


def test_the_reason_stays_bounded_however_long_the_pattern():
    reason = refusal("(?=a)" + "a" * 5000).split("has no JSON Schema (", 1)[1]
    assert "is not supported" in reason and len(reason) < 600


def test_an_input_model_with_a_look_around_pattern_is_refused_saying_why():
    from pydantic import BaseModel, ConfigDict

    class LookIn(BaseModel):
        # Validated on demand (a plain model is built at once, failing outside the registry).
        model_config = ConfigDict(defer_build=True)
        n: str = Field(pattern=r"^(?=a)a+$")

    with pytest.raises(ToolDefinitionError) as refused:
        @ToolRegistry().tool("t.look_model", input_model=LookIn)
        def look(args: LookIn) -> str:
            """Look."""
            return args.n
    assert "look-around, including look-ahead and look-behind, is not supported" in str(
        refused.value)
