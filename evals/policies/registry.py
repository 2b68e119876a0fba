"""The tools the policy corpus plans with: the built-ins plus a few tagged example tools."""

from __future__ import annotations

from pathlib import Path

from tools import Effect, ToolRegistry
from tools.builtin import register_builtin_tools
from tools.http_endpoint import register_http_tool

# Configured HTTP endpoint tools ([[tools.http]]): each calls a fixed URL the plan cannot change.
ENDPOINT_TOOLS = (
    {"name": "crm.push", "url": "https://crm.vendor.example/api/push",
     "description": "Push a record to the vendor CRM.",
     "input_schema": {"type": "object", "properties": {"url": {"type": "string"},
                                                        "record": {"type": "object"}}}},
    {"name": "crm.note", "url": "https://api.internal.example/crm/notes",
     "description": "Add a note to a customer in the internal CRM.",
     "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}},
)


def policy_registry(workspace: Path | None = None) -> ToolRegistry:
    """Built-in tools plus ``crm.read_eu`` (region eu), ``warehouse.export`` (batch, write)
    and ``db.drop_table`` (destructive write), and the endpoint tools ``crm.push`` (a host off
    the allowlist) and ``crm.note`` (an allow-listed host). The example tools are never called."""
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=workspace or Path(".baton/workspace"))

    def read_customers(segment: str) -> dict:
        """Read customer records of a segment.

        Args:
            segment: Segment name.
        """
        return {"rows": [], "text": ""}

    def export_table(table: str) -> dict:
        """Export a warehouse table (nightly batch job).

        Args:
            table: Table name.
        """
        return {"rows": 0}

    def drop_table(table: str) -> dict:
        """Drop a database table.

        Args:
            table: Table name.
        """
        return {"dropped": True}

    registry.register_function(read_customers, name="crm.read_eu", region="eu", tags=("crm",))
    registry.register_function(export_table, name="warehouse.export", effect=Effect.WRITE,
                               tags=("batch",))
    registry.register_function(drop_table, name="db.drop_table", effect=Effect.WRITE,
                               tags=("destructive",))
    for endpoint in ENDPOINT_TOOLS:
        register_http_tool(registry, **endpoint)
    return registry
