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

# The built-in and HTTP-endpoint tools are loaded on first use: they bring structlog and
# friends, which `baton --help` and `baton validate` should not pay for at start-up.
_LAZY = {
    "register_builtin_tools": ".builtin",
    "HttpToolSpec": ".http_endpoint",
    "load_http_tools": ".http_endpoint",
    "register_http_tool": ".http_endpoint",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'tools' has no attribute {name!r}")

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
