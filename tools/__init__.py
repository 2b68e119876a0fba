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

# Last: these import the modules above. They are light (no httpx or jmespath until a call).
from .builtin import register_builtin_tools  # noqa: E402
from .http_endpoint import HttpToolSpec, load_http_tools, register_http_tool  # noqa: E402

__all__ = [
    "ENTRY_POINT_GROUP",
    "HttpToolSpec",
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
    "load_http_tools",
    "parse_docstring",
    "register_builtin_tools",
    "register_http_tool",
]
