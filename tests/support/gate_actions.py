"""Approve and reject as one parameter: both pin the version reviewed by its hash the same way.

The tests of ``--hash`` (CLI), ``plan_hash`` (API, web form) and the use case run once per
action, so that a rejection's pin cannot drift from an approval's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from baton.usecases.approving import approve, reject
from policies.approval import ApprovalRecord, GateState, GateStatus

REASON = "wrong target file"


@dataclass(frozen=True)
class GateAction:
    """One approver's answer, as each interface asks for it."""

    verb: str  # the CLI command and the last part of the API and web form paths
    done: str  # the word the messages use: "nothing was approved", "approved p-… v2 …"
    status: GateStatus  # the gate's status once this action is the one its version needs
    call: Callable[..., GateState]  # the use case, with what it needs besides the pin
    cli_args: tuple[str, ...] = ()  # what the CLI command needs besides the plan id and pin
    fields: dict[str, str] = field(default_factory=dict)  # what the API body / web form needs

    def record(self, gate: GateState) -> ApprovalRecord:
        """The record this action added, as the returned gate shows it."""
        return gate.rejection if self.verb == "reject" else gate.valid_approvals[-1]

    def recorded(self, gate: dict[str, Any]) -> dict[str, Any]:
        """:meth:`record` for a gate read back as JSON (the API's answer, ``--json``)."""
        return gate["rejection"] if self.verb == "reject" else gate["valid_approvals"][-1]


APPROVE = GateAction("approve", "approved", GateStatus.APPROVED, approve)
REJECT = GateAction("reject", "rejected", GateStatus.REJECTED,
                    lambda *args, **kw: reject(*args, reason=REASON, **kw),
                    cli_args=("--reason", REASON), fields={"reason": REASON})
GATE_ACTIONS = [pytest.param(APPROVE, id="approve"), pytest.param(REJECT, id="reject")]
