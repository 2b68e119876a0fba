"""Baton's built-in tools: HTTP, workspace files, table aggregation and JSON queries.

Nothing is registered at import: the application calls
:func:`register_builtin_tools` on the registry it owns.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..registry import ToolRegistry
from .files import register_file_tools
from .http import HttpRequestInput, HttpResponse, register_http_request
from .jsonq import register_json_tools
from .protected_paths import Protected
from .table import register_table_tools

DEFAULT_HTTP_MAX_RESPONSE_BYTES = 5 * 1024 * 1024

__all__ = [
    "DEFAULT_HTTP_MAX_RESPONSE_BYTES",
    "HttpRequestInput",
    "HttpResponse",
    "Protected",
    "register_builtin_tools",
]


def register_builtin_tools(
    registry: ToolRegistry,
    *,
    workspace: Path,
    http_max_response_bytes: int = DEFAULT_HTTP_MAX_RESPONSE_BYTES,
    protected: Sequence[Protected] = (),
) -> None:
    """Add every built-in tool to ``registry``; ``files.*`` are confined to ``workspace`` and
    kept out of the ``protected`` paths (Baton's own state, should the workspace hold it)."""
    register_http_request(registry, max_response_bytes=http_max_response_bytes)
    register_file_tools(registry, workspace=workspace, protected=protected)
    register_table_tools(registry)
    register_json_tools(registry)
