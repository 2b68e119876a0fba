"""Baton's built-in tools: HTTP, workspace files, table aggregation and JSON queries.

Nothing is registered at import: the application calls
:func:`register_builtin_tools` on the registry it owns.
"""

from __future__ import annotations

from pathlib import Path

from ..registry import ToolRegistry
from .files import register_file_tools
from .http import HttpRequestInput, HttpResponse, referenced_secrets, register_http_request
from .jsonq import register_json_tools
from .table import register_table_tools

DEFAULT_HTTP_MAX_RESPONSE_BYTES = 5 * 1024 * 1024

__all__ = [
    "DEFAULT_HTTP_MAX_RESPONSE_BYTES",
    "HttpRequestInput",
    "HttpResponse",
    "referenced_secrets",
    "register_builtin_tools",
]


def register_builtin_tools(
    registry: ToolRegistry,
    *,
    workspace: Path,
    http_max_response_bytes: int = DEFAULT_HTTP_MAX_RESPONSE_BYTES,
) -> None:
    """Add every built-in tool to ``registry``; ``files.*`` are confined to ``workspace``."""
    register_http_request(registry, max_response_bytes=http_max_response_bytes)
    register_file_tools(registry, workspace=workspace)
    register_table_tools(registry)
    register_json_tools(registry)
