"""A plan whose approvals count again, for the API and web tests: two approvers needed, bob
approved, lost the approver role, carol approved (the gate stayed pending), bob has the role
back. Its gate is approved; its stored status is still pending_approval."""

from __future__ import annotations

from pathlib import Path

from baton.services import Services
from baton.settings import Settings
from baton.usecases.approving import approve
from baton.usecases.gates import gate_state
from baton.usecases.plans import plan_from_document
from tests.api.live import make_settings

WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}


def two_approvers(tmp_path: Path, *, bob: tuple[str, ...] = ("approver",),
                  database_url: str | None = None) -> Settings:
    """``make_settings`` asking two approvers of every plan that writes, bob with ``bob``."""
    extra = {"database_url": database_url} if database_url else {}
    settings = make_settings(tmp_path, **extra)
    users = dict(settings.users)
    users["bob"] = users["bob"].model_copy(update={"roles": bob})
    data = {**settings.policy_data,
            "approval": {"roles": ["approver", "admin"], "two_person_risk": 1}}
    return settings.model_copy(update={"users": users, "policy_data": data})


def stuck_plan(tmp_path: Path, database_url: str | None = None) -> tuple[Services, str]:
    """Services with bob's role back, and the plan's id (see the module's docstring)."""
    opened = []
    try:
        for bob in (("approver",), ("analyst",)):
            opened.append(Services(two_approvers(tmp_path, bob=bob, database_url=database_url)))
        before, without_bob = opened
        users = before.settings.users
        plan_id = plan_from_document(before, WRITE_PLAN, users["alice"]).plan_id
        assert approve(before, plan_id, users["bob"]).missing_count == 1
        assert approve(without_bob, plan_id, users["carol"]).missing_count == 1
    finally:
        for services in opened:
            services.engine.dispose()
    restored = Services(two_approvers(tmp_path, database_url=database_url))
    assert gate_state(restored, plan_id).status.value == "approved"
    assert restored.plan_store.get(plan_id).status.value == "pending_approval"
    return restored, plan_id
