"""An approved version whose approval no longer counts (its approver lost the role, or it
expired) offers Approve and Reject again on its page and no Start run: the page offered
approval only while the stored status was pending_approval, and a Start run that is always
refused, so the plan could be signed off again only from the CLI or the API."""

from __future__ import annotations

from baton.services import Services
from baton.usecases.approving import approve
from baton.usecases.gates import gate_state
from baton.usecases.plans import plan_from_document
from tests.api.live import make_settings
from tests.support.web_pages import page_as

WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}
APPROVE = 'action="/plans/{}/approve"'
RUN = 'action="/plans/{}/run"'


def _approved_by_bob(tmp_path) -> str:
    services = Services(make_settings(tmp_path))
    users = services.settings.users
    plan_id = plan_from_document(services, WRITE_PLAN, users["alice"]).plan_id
    approve(services, plan_id, users["bob"])
    assert gate_state(services, plan_id).status.value == "approved"
    return plan_id


def _bob_without_his_role(tmp_path) -> Services:
    settings = make_settings(tmp_path)
    users = dict(settings.users)
    users["bob"] = users["bob"].model_copy(update={"roles": ("analyst",)})
    return Services(settings.model_copy(update={"users": users}))


def test_an_approved_version_that_still_counts_offers_a_run_and_no_approval(tmp_path):
    plan_id = _approved_by_bob(tmp_path)
    page = page_as(Services(make_settings(tmp_path)), "carol", f"/plans/{plan_id}")
    assert RUN.format(plan_id) in page and APPROVE.format(plan_id) not in page


def test_once_the_approval_no_longer_counts_another_approver_may_approve_again(tmp_path):
    plan_id = _approved_by_bob(tmp_path)
    services = _bob_without_his_role(tmp_path)
    assert services.plan_store.get(plan_id).status.value == "approved"  # stored, unchanged
    assert gate_state(services, plan_id).status.value == "pending"
    page = page_as(services, "carol", f"/plans/{plan_id}")
    assert APPROVE.format(plan_id) in page and RUN.format(plan_id) not in page
    approve(services, plan_id, services.settings.users["carol"])  # what the form does
    assert gate_state(services, plan_id).status.value == "approved"


def test_the_requester_is_still_not_offered_their_own_plan(tmp_path):
    plan_id = _approved_by_bob(tmp_path)
    page = page_as(_bob_without_his_role(tmp_path), "alice", f"/plans/{plan_id}")
    assert APPROVE.format(plan_id) not in page and RUN.format(plan_id) not in page
