"""A superseded version's gate says so: it showed "approved" (or "needs 1 more approval(s)")
in ``baton plans show --version N`` and on the web page, though it can never run. Its
approvals stay in its history, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from rich.console import Console

from baton.api import create_app
from baton.cli import vetting_cmd
from baton.services import Services
from baton.usecases.approval_records import approval_history
from baton.usecases.approving import approve
from baton.usecases.deciding import decision_for, vet_version
from baton.usecases.gates import gate_state
from baton.usecases.plans import plan_from_document
from planner.versions import VersionStatus
from policies.approval import GateStatus
from tests.api.live import make_settings
from tests.support.gate_services import BOB, READ_PLAN, WRITE_PLAN, store_version
from tests.support.web_pages import page_as

SUPERSEDED = "v1 was superseded by v2; approve the latest version"


def _superseded(services: Services, *, approved: bool) -> str:
    """A write plan's v1, vetted (and approved by bob), then revised into v2."""
    first = store_version(services, WRITE_PLAN)
    vet_version(services, first)
    if approved:
        approve(services, first.plan_id, BOB)
    store_version(services, READ_PLAN, plan_id=first.plan_id)
    assert services.plan_store.get(first.plan_id, 1).status is VersionStatus.SUPERSEDED
    return first.plan_id


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "pending"])
def test_a_superseded_version_shows_a_superseded_gate_and_keeps_its_history(opened, approved):
    services = opened()
    plan_id = _superseded(services, approved=approved)
    gate = gate_state(services, plan_id, 1)
    assert gate.status is GateStatus.SUPERSEDED
    assert gate.reasons == (SUPERSEDED,)
    assert gate.valid_approvals == () and gate.missing_count == 0
    history = approval_history(services, plan_id)
    assert [(r.version, r.actor, r.kind.value) for r in history] == (
        [(1, "bob", "approve")] if approved else [])


def test_a_superseded_version_without_a_decision_shows_the_same_gate(opened):
    services = opened()
    first = store_version(services, WRITE_PLAN)
    store_version(services, READ_PLAN, plan_id=first.plan_id)
    assert gate_state(services, first.plan_id, 1).reasons == (SUPERSEDED,)


def test_plans_show_prints_the_superseded_gate_and_why(opened, monkeypatch):
    services = opened()
    plan_id = _superseded(services, approved=True)
    shown = Console(record=True, width=200)
    monkeypatch.setattr(vetting_cmd, "console", shown)
    vetting_cmd.print_decision(decision_for(services, plan_id, 1).decision,
                               gate_state(services, plan_id, 1))
    text = shown.export_text()
    assert "gate: superseded" in text and SUPERSEDED in text
    assert "approved by" not in text and "gate: approved" not in text


def test_the_web_page_of_a_superseded_version_shows_its_gate(tmp_path):
    services = Services(make_settings(tmp_path))
    users = services.settings.users
    plan_id = plan_from_document(services, WRITE_PLAN, users["alice"]).plan_id
    approve(services, plan_id, users["bob"])
    store_version(services, READ_PLAN, plan_id=plan_id)
    page = page_as(services, "carol", f"/plans/{plan_id}?version=1")
    assert '<span class="badge s-superseded">superseded</span>' in page
    assert SUPERSEDED in page
    assert f'action="/plans/{plan_id}/run"' not in page


def test_the_openapi_gate_status_names_superseded(tmp_path):
    document = create_app(Services(make_settings(tmp_path))).openapi()
    assert "superseded" in document["components"]["schemas"]["GateStatus"]["enum"]
