"""Tools: the typed functions plans may call, and the registry that holds them."""

from .errors import (
    BatonError,
    RetryableToolError,
    ToolDefinitionError,
    ToolError,
    ToolInputError,
    UnknownToolError,
)
from .registry import ENTRY_POINT_GROUP, ToolRegistry
from .retry import NO_RETRY, RetryPolicy
from .signature import parse_docstring
from .spec import Effect, ToolContext, ToolInfo, ToolSpec

__all__ = [
    "ENTRY_POINT_GROUP",
    "NO_RETRY",
    "BatonError",
    "Effect",
    "RetryPolicy",
    "RetryableToolError",
    "ToolContext",
    "ToolDefinitionError",
    "ToolError",
    "ToolInfo",
    "ToolInputError",
    "ToolRegistry",
    "ToolSpec",
    "UnknownToolError",
    "parse_docstring",
]
