"""An approved two-step copy plan, stored and signed off through the use cases."""

from __future__ import annotations

from baton.services import Services
from baton.settings import User
from baton.usecases.approving import approve
from baton.usecases.deciding import vet_version
from executor.store.plans import NewVersion
from planner.base import PlannerKind
from planner.plan import Plan
from planner.versions import VersionStatus

ALICE = User(id="alice", roles=("analyst",))
BOB = User(id="bob", roles=("approver",))
# A read then a write: the write makes the policy ask for one approver.
COPY_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}


def approved_copy_plan(services: Services) -> str:
    """Store ``COPY_PLAN`` as alice's, vet it, have bob approve it; its plan id."""
    version = services.plan_store.create_plan(COPY_PLAN["goal"], ALICE.id, NewVersion(
        plan=Plan.model_validate(COPY_PLAN), status=VersionStatus.VALIDATED,
        planner=PlannerKind.FILE, created_by=ALICE.id))
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    return version.plan_id
