"""``baton demo``: the whole flow, end to end, in a throw-away workspace.

alice (analyst) plans a goal with the template planner; a second plan that
posts to a host outside the egress allowlist is denied; alice cannot approve
her own plan; bob (and carol, when the policy asks for two) approve; the run
executes; the ledger is shown and verified. No server, no API key, no
network. Every step goes through the same use cases as the CLI and the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from executor.ledger import LedgerEvent, VerifyResult
from executor.records import RunRecord, RunStatus
from executor.runner import StepProgress
from planner.base import PlannerKind
from planner.versions import StoredVersion
from policies.approval import GateState, GateStatus
from policies.contracts import Decision
from tools import BatonError

from ..services import Services
from ..settings import User
from .demo_workspace import DemoWorkspace

GOAL = "Summarise the amount column of sales.csv by region into summary.json"
DENIED_GOAL = "Post the total of sales.csv to https://webhook.example.net/finance"
OUTPUT_FILE = "summary.json"


class DemoFailed(BatonError):
    """The demo did not reach a succeeded run and an intact ledger."""

    code = "demo_failed"


class DemoReporter(Protocol):
    """What the demo tells its audience; the CLI renders it."""

    def section(self, title: str) -> None:
        """A new chapter of the story."""

    def say(self, actor: User | None, text: str) -> None:
        """Someone does something (``actor`` None: Baton itself)."""

    def plan(self, stored: StoredVersion, decision: Decision | None, gate: GateState) -> None:
        """A stored plan version with its policy decision and gate state."""

    def refused(self, actor: User, error: BatonError) -> None:
        """Baton refused what ``actor`` tried, and why."""

    def progress(self, event: StepProgress) -> None:
        """A step of the run changed state."""

    def outputs(self, files: dict[str, str]) -> None:
        """Files the run wrote into the workspace."""

    def ledger(self, events: list[LedgerEvent], verify: VerifyResult) -> None:
        """The audit log and its verification."""


@dataclass(frozen=True)
class DemoResult:
    """What the demo did."""

    plan_id: str
    denied_plan_id: str
    run: RunRecord
    verify: VerifyResult


def run_demo(workspace: DemoWorkspace, reporter: DemoReporter,
             services_factory: Callable[..., Services] = Services) -> DemoResult:
    """Play the whole flow in ``workspace``; raises ``DemoFailed`` unless it ends well."""
    services = services_factory(workspace.settings)
    users = workspace.settings.users
    alice, bob, carol = users["alice"], users["bob"], users["carol"]

    reporter.section("1. An analyst asks for a plan")
    stored = _plan(services, reporter, alice, GOAL)

    reporter.section("2. A plan that breaks policy is denied")
    denied = _plan(services, reporter, alice, DENIED_GOAL)

    reporter.section("3. The approval gate")
    _approve(services, reporter, stored, alice, bob, carol)

    reporter.section("4. The run")
    record = _run(services, reporter, stored, alice)

    reporter.section("5. The audit trail")
    verify = services.ledger.verify()
    reporter.ledger(services.ledger.events(), verify)
    if record.status is not RunStatus.SUCCEEDED or not verify.ok:
        raise DemoFailed(f"the demo run ended {record.status.value}"
                         + ("" if verify.ok else f"; ledger check failed: {verify.reason}"))
    return DemoResult(plan_id=stored.plan_id, denied_plan_id=denied.plan_id, run=record,
                      verify=verify)


def _plan(services: Services, reporter: DemoReporter, user: User, goal: str) -> StoredVersion:
    from .deciding import decision_for
    from .gates import gate_state
    from .plans import plan_goal, show_plan

    reporter.say(user, f'asks: "{goal}"')
    stored = plan_goal(services, goal, user, planner=PlannerKind.TEMPLATE)
    stored = show_plan(services, stored.plan_id, stored.version)
    decided = decision_for(services, stored.plan_id, stored.version)
    reporter.plan(stored, decided.decision if decided else None,
                  gate_state(services, stored.plan_id, stored.version))
    return stored


def _approve(services: Services, reporter: DemoReporter, stored: StoredVersion, requester: User,
             *approvers: User) -> None:
    from .approving import approve
    from .gates import gate_state

    reporter.say(requester, f"tries to approve her own plan {stored.plan_id}")
    try:
        approve(services, stored.plan_id, requester, version=stored.version)
    except BatonError as exc:
        reporter.refused(requester, exc)
    else:  # pragma: no cover - the gate must refuse this
        raise DemoFailed("the gate let the requester approve her own plan")
    for approver in approvers:
        if gate_state(services, stored.plan_id, stored.version).status is GateStatus.APPROVED:
            break
        reporter.say(approver, f"reviews plan {stored.plan_id} v{stored.version} and approves it")
        state = approve(services, stored.plan_id, approver, version=stored.version,
                        comment="checked the steps and the policy findings")
        reporter.say(None, f"gate: {state.status.value}"
                     + (f", {state.missing_count} more approval(s) needed"
                        if state.missing_count else ""))


def _run(services: Services, reporter: DemoReporter, stored: StoredVersion,
         user: User) -> RunRecord:
    from .runs import start_run

    reporter.say(user, f"runs plan {stored.plan_id} v{stored.version}")
    record = start_run(services, stored.plan_id, user, version=stored.version,
                       observer=reporter.progress)
    reporter.say(None, f"run {record.id} {record.status.value}")
    files_dir = services.settings.resolved_workspace
    written = {}
    target = files_dir / OUTPUT_FILE
    if target.is_file():
        written[OUTPUT_FILE] = target.read_text(encoding="utf-8")
    reporter.outputs(written)
    return record
