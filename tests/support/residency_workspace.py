"""The tools of the run-time residency tests about the workspace: the file tools over a
workspace and a fake ``http.request`` that answers EU rows to any URL and records each call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tools import ToolRegistry
from tools.builtin.files import register_file_tools
from tools.builtin.http import effect_of_request

EU_URL = "https://data.eu.example.com/customers"
US_URL = "https://x.us.example.com/in"
EU_ROWS = "EU customer rows"


class Response(BaseModel):
    """What the fake ``http.request`` answers."""

    text: str


def workspace_registry(workspace: Path, calls: list[tuple[str, str, Any]]) -> ToolRegistry:
    """The file tools over ``workspace`` and a fake ``http.request`` that appends each call's
    (method, url, body) to ``calls`` and answers :data:`EU_ROWS`."""
    def http_request(url: str, method: str = "GET", body: Any = None) -> Response:
        """Call a URL.

        Args:
            url: Where to.
            method: HTTP method.
            body: What to send.
        """
        calls.append((method, url, body))
        return Response(text=EU_ROWS)

    registry = ToolRegistry()
    register_file_tools(registry, workspace=workspace)
    registry.register_function(http_request, name="http.request", tags=("egress", "network"),
                               effect_from_args=effect_of_request)
    return registry
