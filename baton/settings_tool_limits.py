"""``[executor] per_tool_concurrency`` against the tools: each limit must name a registered one.

A limit keyed by a name no tool has never applies, and nothing said so (a typo left the tool
it meant unlimited). Only the built registry knows every name (an installed package's tools
are named when the package is loaded, which the settings check never does), so this runs
where the registry is built (:attr:`baton.services.Services.registry`): every command that
loads the tools, and ``baton serve`` before it listens.
"""

from __future__ import annotations

from collections.abc import Iterable

from tools import ToolRegistry

SETTING = "executor.per_tool_concurrency"


def unknown_limited_tools(registry: ToolRegistry, limited: Iterable[str]) -> list[tuple[str, str]]:
    """(setting, problem) for each name of ``limited`` that ``registry`` holds no tool of,
    with the closest registered name when one is near."""
    problems = []
    for name in limited:
        if name in registry:
            continue
        close = registry.closest(name, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append((SETTING, f"{name!r} is not a registered tool{hint}; its limit would "
                                  "never apply"))
    return problems
