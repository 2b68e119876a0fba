"""Which steps may start now: a pure function of the plan's order, its dependencies and step states.

No I/O and no clock, so it is tested exhaustively without a database. The
runner calls it with only the *frontier* (pending steps whose dependencies
are done, in topological order) so that each scheduling round costs what the
frontier holds, not what the whole plan holds.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence


class StepStatus(str, enum.Enum):
    """Where one step of a run stands."""

    PENDING = "pending"      # not started (or reset after a failed run is resumed)
    RUNNING = "running"      # an attempt is journalled and has no result yet
    SUCCEEDED = "succeeded"  # finished with an output
    FAILED = "failed"        # failed for good (non-retryable error or attempts exhausted)


def ready_steps(
    plan_order: Sequence[str],
    deps: Mapping[str, Sequence[str]],
    states: Mapping[str, StepStatus],
    *,
    running: Sequence[str] | None = None,
    tool_of: Mapping[str, str] | None = None,
    concurrency: int = 1,
    per_tool: Mapping[str, int] | None = None,
) -> list[str]:
    """Steps of ``plan_order`` that may start now, in that order, within the concurrency limits.

    A step is ready when it is pending and every step it depends on has
    succeeded. ``running`` defaults to the steps ``states`` marks running;
    ``per_tool`` caps how many steps of one tool run at once.
    """
    if running is None:
        running = [sid for sid, status in states.items() if status is StepStatus.RUNNING]
    tool_of = tool_of or {}
    per_tool = per_tool or {}
    slots = concurrency - len(running)
    load = Counter(tool_of.get(sid, "") for sid in running)
    chosen: list[str] = []
    for sid in plan_order:
        if slots <= 0:
            break
        if states.get(sid) is not StepStatus.PENDING:
            continue
        if any(states.get(dep) is not StepStatus.SUCCEEDED for dep in deps.get(sid, ())):
            continue
        tool = tool_of.get(sid, "")
        limit = per_tool.get(tool)
        if limit is not None and load[tool] >= limit:
            continue
        chosen.append(sid)
        load[tool] += 1
        slots -= 1
    return chosen
