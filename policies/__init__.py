"""Policies: the Rego rules and data, the engines that evaluate them, and the approval gate."""

from .approval import (
    ApprovalKind,
    ApprovalRecord,
    ApprovalRefused,
    ApprovalTarget,
    GateState,
    GateStatus,
    NotApprovedError,
    RefusalCode,
    check_can_approve,
    check_can_reject,
    evaluate_gate,
)
from .bundle import PolicyBundle, PolicyBundleError
from .contracts import (
    ApprovalsNeeded,
    Decision,
    Outcome,
    PolicyContext,
    Requester,
    StepCall,
    StepDecision,
    TemplateCheck,
)
from .engine import PolicyEngine
from .factory import make_policy_engine
from .fixtures_runner import PolicyFixtureError
from .inputs import build_policy_input, build_step_input, step_call_for

__all__ = [
    "ApprovalKind", "ApprovalRecord", "ApprovalRefused", "ApprovalTarget",
    "ApprovalsNeeded", "Decision", "GateState", "GateStatus", "NotApprovedError", "Outcome",
    "PolicyBundle", "PolicyBundleError", "PolicyContext", "PolicyEngine", "PolicyFixtureError",
    "RefusalCode",
    "Requester", "StepCall", "StepDecision", "TemplateCheck", "build_policy_input",
    "build_step_input", "check_can_approve", "check_can_reject", "evaluate_gate",
    "make_policy_engine", "step_call_for",
]
