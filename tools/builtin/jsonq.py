"""``json.query``: a JMESPath expression over a JSON value; pure and deterministic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ToolInputError
from ..retry import NO_RETRY
from ..spec import Effect

if TYPE_CHECKING:
    from ..registry import ToolRegistry


class JsonQueryResult(BaseModel):
    """What the expression selected."""

    model_config = ConfigDict(frozen=True)

    value: Any = Field(description="The selected value; null when nothing matched.")


def json_query(expression: str, data: Any) -> JsonQueryResult:
    """Select or reshape part of a JSON value with a JMESPath expression.

    Args:
        expression: JMESPath expression, e.g. 'items[?amount > `100`].id'.
        data: The JSON value to query (often a reference to an earlier step's output).
    """
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        compiled = jmespath.compile(expression)
    except RecursionError as exc:
        raise ToolInputError(f"invalid JMESPath expression {expression!r}: nested too deeply "
                             "to parse", code="jmespath_syntax") from exc
    except JMESPathError as exc:
        raise ToolInputError(f"invalid JMESPath expression {expression!r}: {exc}",
                             code="jmespath_syntax") from exc
    try:
        return JsonQueryResult(value=compiled.search(data))
    except JMESPathError as exc:
        raise ToolInputError(f"JMESPath expression {expression!r} failed: {exc}",
                             code="jmespath_eval") from exc
    except _EVALUATION_ERRORS as exc:
        raise ToolInputError(f"JMESPath expression {expression!r} failed: {_why(exc)}",
                             code="jmespath_eval") from exc


# What jmespath lets out of a search on data the expression did not expect, besides its own
# errors: comparing a string with a number (TypeError), a slice step of 0 (ValueError),
# floor(`1e400`) (OverflowError), an expression nested past Python's stack (RecursionError).
_EVALUATION_ERRORS = (TypeError, ValueError, OverflowError, RecursionError)


def _why(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply to evaluate"
    return f"{exc} ({type(exc).__name__})"


def register_json_tools(registry: ToolRegistry) -> None:
    """Add ``json.query``."""
    registry.register_function(
        json_query, name="json.query", effect=Effect.READ, idempotent=True,
        timeout_s=30.0, retry=NO_RETRY, tags=("data", "pure"),
    )
