"""``GET /api/v1/plans?status=pending_approval`` lists what waits for approval as the web
queue does: an approved version whose approval lapsed is among it, with
``approval_lapsed`` saying why, unless it ran to success (approvals always expire: every
version ever run came back); every listing marks such a version the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from baton.services import Services
from baton.usecases.approving import approve
from baton.usecases.plans import plan_from_document
from executor.records import RunStatus
from tests.support.ran_runs import ran

from .live import make_settings, serve, token_of

WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}
LONG_AGO = datetime.now(UTC) - timedelta(days=8)  # past the default 7-day TTL


def _listed(services: Services, query: str) -> dict[str, dict]:
    live = serve(services)
    try:
        response = httpx.get(f"{live.url}/api/v1/plans{query}", timeout=30,
                             headers={"Authorization": f"Bearer {token_of('carol')}"})
    finally:
        live.stop()
    assert response.status_code == 200, response.text
    return {entry["plan_id"]: entry for entry in response.json()}


def _three_plans(tmp_path) -> tuple[Services, str, str, str]:
    """A pending plan, one whose approval lapsed, one approved now; their ids."""
    services = Services(make_settings(tmp_path))
    alice, bob = services.settings.users["alice"], services.settings.users["bob"]
    pending, lapsed, current = (plan_from_document(services, WRITE_PLAN, alice).plan_id
                                for _ in range(3))
    approve(services, lapsed, bob, now=LONG_AGO)
    approve(services, current, bob)
    return services, pending, lapsed, current


def test_what_waits_for_approval_includes_a_version_whose_approval_lapsed(tmp_path):
    services, pending, lapsed, _ = _three_plans(tmp_path)
    waiting = _listed(services, "?status=pending_approval")
    assert set(waiting) == {pending, lapsed}
    assert waiting[pending]["status"] == "pending_approval"
    assert waiting[pending]["approval_lapsed"] is None
    assert waiting[lapsed]["status"] == "approved"  # as stored: the mark says why it is back
    assert waiting[lapsed]["approval_lapsed"] == "approval lapsed (expired)"


def test_every_listing_marks_a_version_whose_approval_lapsed(tmp_path):
    services, pending, lapsed, current = _three_plans(tmp_path)
    for query in ("", "?status=approved"):
        marks = {plan_id: entry["approval_lapsed"]
                 for plan_id, entry in _listed(services, query).items()}
        assert marks[lapsed] == "approval lapsed (expired)" and marks[current] is None


def test_a_lapsed_version_that_ran_to_success_no_longer_waits_but_is_still_marked(tmp_path):
    services, pending, lapsed, current = _three_plans(tmp_path)
    ran(services, services.plan_store.get(lapsed), RunStatus.SUCCEEDED)
    failed = plan_from_document(services, WRITE_PLAN, services.settings.users["alice"]).plan_id
    approve(services, failed, services.settings.users["bob"], now=LONG_AGO)
    ran(services, services.plan_store.get(failed), RunStatus.FAILED)
    waiting = _listed(services, "?status=pending_approval")
    assert set(waiting) == {pending, failed}
    assert waiting[failed]["approval_lapsed"] == "approval lapsed (expired)"
    for query in ("", "?status=approved"):
        marks = {plan_id: entry["approval_lapsed"]
                 for plan_id, entry in _listed(services, query).items()}
        assert marks[lapsed] == marks[failed] == "approval lapsed (expired)"
        assert marks[current] is None
