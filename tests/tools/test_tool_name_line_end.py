"""A tool name is lower-case words separated by dots, and nothing after them.

``TOOL_NAME`` was ``^...$`` used with ``re.match``: ``$`` matches before a trailing
newline, so a ``[[tools.http]]`` (or a registered function) named "crm.x\\n" loaded.
"""

from __future__ import annotations

import pytest

from tools import ToolDefinitionError, ToolRegistry


def lookup(customer_id: str) -> str:
    """Look a customer up."""
    return customer_id


@pytest.mark.parametrize("name", ["crm.x\n", "crm.x\r\n", "\ncrm.x"])
def test_a_tool_name_with_a_line_break_is_refused(name):
    with pytest.raises(ToolDefinitionError) as caught:
        ToolRegistry().register_function(lookup, name=name)
    assert "must be lower-case words separated by dots" in str(caught.value)


def test_a_plain_tool_name_is_still_registered():
    registry = ToolRegistry()
    registry.register_function(lookup, name="crm.x")
    assert "crm.x" in registry
