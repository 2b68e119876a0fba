"""The runtime check the runner asks before a write or egress call; policies implement it.

The executor defines only the shape it needs, so that it does not import the
policy engine; ``baton.services`` adapts the policy engine to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, kw_only=True)
class StepCall:
    """One tool call about to be made, with its resolved arguments."""

    run_id: str
    plan_id: str
    step_id: str
    tool: str
    effect: str
    args: dict[str, Any]
    tags: tuple[str, ...] = ()
    region: str | None = None
    requester: str = ""
    source_tools: tuple[str, ...] = ()
    source_regions: tuple[str, ...] = ()
    # Hosts only, never whole URLs (a URL may carry a credential): the hosts the source steps'
    # resolved URLs went to, so residency can judge data fetched from a URL that came from
    # another step's output by where it really came from.
    source_hosts: tuple[str, ...] = ()


class CheckOutcome(Protocol):
    """What a runtime check answers (``policies.StepDecision`` has this shape)."""

    allow: bool
    deny: Sequence[str]
    engine: str
    bundle_hash: str


@dataclass(frozen=True)
class StepDecision:
    """A plain answer, for checks that are not the policy engine."""

    allow: bool
    deny: tuple[str, ...] = ()
    engine: str = "executor"
    bundle_hash: str = field(default="")


class RuntimeCheck(Protocol):
    """Decides whether one call may go ahead."""

    def check_step(self, call: StepCall) -> CheckOutcome:
        """Allow or deny ``call``."""
        ...


NO_CHECK_CONFIGURED = StepDecision(
    allow=False, deny=("no runtime policy check is configured for write, egress, secret-sending "
                       "or batch calls",),
    engine="none")
