"""The plan page once an approval counts again (its approver has the role back): the gate
read approved, but the page offered no Start run (the stored status was still
pending_approval) and no Approve (both approvers' approvals counted): nothing to click."""

from __future__ import annotations

from tests.api.live import serve
from tests.support.approvals_again import stuck_plan
from tests.support.web_pages import page_as
from tests.web.test_web_forms import signed_in

APPROVE = 'action="/plans/{}/approve"'
RUN = 'action="/plans/{}/run"'


def test_the_page_offers_start_run_and_the_run_starts(tmp_path):
    services, plan_id = stuck_plan(tmp_path)
    live = serve(services)
    try:
        alice, csrf = signed_in(live, "alice")
        page = alice.get(f"/plans/{plan_id}").text
        assert RUN.format(plan_id) in page
        started = alice.post(f"/plans/{plan_id}/run", data={"csrf": csrf})
        alice.close()
    finally:
        live.stop()
    assert started.status_code == 200 and "/runs/r-" in str(started.url), started.text[-400:]
    assert services.plan_store.get(plan_id).status.value == "approved"


def test_an_approver_who_has_not_approved_is_not_asked_to(tmp_path):
    """The approvals that count complete the gate: nobody is asked for another."""
    services, plan_id = stuck_plan(tmp_path)
    page = page_as(services, "frank", f"/plans/{plan_id}")
    assert APPROVE.format(plan_id) not in page and RUN.format(plan_id) in page
