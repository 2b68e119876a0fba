"""An approved version whose approval lapsed (it expired, or its approver lost the role) is
back in the approvers' queue, marked with why, unless it already ran to success: the queue
read only versions stored pending_approval, so such a version waited for nobody until
someone asked to run it. The requester and every author are still never offered it; a
superseded version never is.

Approvals always expire, so a version that ran to success came back too, every one ever
run, and flooded the queue: it did its job, and waits for nobody. Recent plans still mark
it, and its page still offers Approve, for whoever wants to run it again."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from baton.services import Services
from baton.usecases.approving import approve
from baton.usecases.deciding import vet_version
from baton.usecases.plans import plan_from_document
from executor.records import RunStatus
from planner.versions import VersionStatus
from tests.api.live import make_settings, serve
from tests.support.gate_services import store_version
from tests.support.ran_runs import ran
from tests.support.web_pages import page_as
from tests.web.test_web_queue import queries_for
from tests.web.test_web_forms import signed_in

WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}
LONG_AGO = datetime.now(UTC) - timedelta(days=8)  # past the default 7-day TTL
QUEUED = re.compile(r'href="/plans/([^"]+)" data-testid="queue-plan"')


def queue_of(services: Services, user: str) -> list[str]:
    """The plan ids in ``user``'s queue."""
    return QUEUED.findall(page_as(services, user, "/"))


def approved(services: Services, requester: str = "alice", *,
             at: datetime | None = LONG_AGO) -> str:
    """A plan of ``requester``'s that bob approved ``at`` (long ago: it lapsed)."""
    users = services.settings.users
    plan_id = plan_from_document(services, WRITE_PLAN, users[requester]).plan_id
    approve(services, plan_id, users["bob"], now=at)
    assert services.plan_store.get(plan_id).status is VersionStatus.APPROVED
    return plan_id


def with_bob_as_analyst(tmp_path) -> Services:
    settings = make_settings(tmp_path)
    users = dict(settings.users)
    users["bob"] = users["bob"].model_copy(update={"roles": ("analyst",)})
    return Services(settings.model_copy(update={"users": users}))


@pytest.fixture
def services(tmp_path) -> Services:
    return Services(make_settings(tmp_path))


def test_an_expired_approval_puts_the_version_back_in_the_queue_saying_so(services):
    plan_id = approved(services)
    page = page_as(services, "carol", "/")
    assert QUEUED.findall(page) == [plan_id]
    assert "approval lapsed (expired)" in page
    assert plan_id in queue_of(services, "bob")  # his own approval lapsed: he may give it again


def test_an_approver_who_lost_the_role_puts_the_version_back_saying_so(services, tmp_path):
    plan_id = approved(services, at=None)
    now = with_bob_as_analyst(tmp_path)
    page = page_as(now, "carol", "/")
    assert QUEUED.findall(page) == [plan_id]
    assert "approval lapsed (approver lost role)" in page


def test_an_approval_that_still_counts_keeps_the_version_out_of_the_queue(services):
    approved(services, at=None)
    page = page_as(services, "carol", "/")
    assert QUEUED.findall(page) == [] and "approval lapsed" not in page


def test_a_lapsed_version_that_ran_to_success_leaves_the_queue_still_marked(services):
    plan_id = approved(services)
    ran(services, services.plan_store.get(plan_id), RunStatus.SUCCEEDED)
    page = page_as(services, "carol", "/")
    assert QUEUED.findall(page) == []
    assert "approval lapsed (expired)" in page  # among recent plans
    assert 'action="/plans/{}/approve"'.format(plan_id) in page_as(
        services, "carol", f"/plans/{plan_id}")  # may be approved again, to run once more


def test_a_lapsed_version_whose_run_failed_stays_in_the_queue(services):
    plan_id = approved(services)
    ran(services, services.plan_store.get(plan_id), RunStatus.FAILED)  # a resume needs the gate
    page = page_as(services, "carol", "/")
    assert QUEUED.findall(page) == [plan_id] and "approval lapsed (expired)" in page


def test_the_requester_is_never_offered_their_own_lapsed_plan(services):
    plan_id = approved(services, "frank")  # frank is an analyst and an approver
    assert plan_id not in queue_of(services, "frank")
    assert plan_id in queue_of(services, "carol")


def test_whoever_wrote_any_version_is_never_offered_it(services):
    first = plan_from_document(services, WRITE_PLAN, services.settings.users["alice"])
    revised = store_version(services, WRITE_PLAN, requester="carol", plan_id=first.plan_id)
    vet_version(services, revised)
    approve(services, first.plan_id, services.settings.users["bob"], now=LONG_AGO)
    assert services.plan_store.get(first.plan_id).status is VersionStatus.APPROVED
    assert first.plan_id not in queue_of(services, "carol")
    assert first.plan_id in queue_of(services, "root")


def test_a_superseded_version_is_not_put_back(services):
    plan_id = approved(services)
    store_version(services, WRITE_PLAN, plan_id=plan_id)  # v2, not decided yet
    assert queue_of(services, "carol") == []


def test_recent_plans_mark_an_approved_version_whose_approval_lapsed(services):
    approved(services)
    page = page_as(services, "alice", "/")  # alice approves nothing: only her recent plans
    assert QUEUED.findall(page) == [] and "approval lapsed (expired)" in page


def test_the_queue_reads_the_same_whatever_the_number_of_lapsed_plans(services):
    approved(services)
    live = serve(services)
    try:
        carol, _ = signed_in(live, "carol")
        before, page = queries_for(services, carol, "/")
        assert len(QUEUED.findall(page)) == 1
        for status in (RunStatus.FAILED, RunStatus.SUCCEEDED, None):
            plan_id = approved(services)
            if status is not None:
                ran(services, services.plan_store.get(plan_id), status)
        after, page = queries_for(services, carol, "/")
        assert len(QUEUED.findall(page)) == 3  # the one that ran to success waits for nobody
    finally:
        live.stop()
    assert after == before


def test_lapsed_versions_count_toward_the_queue_bound(services, monkeypatch):
    import baton.web.views as views

    plan_from_document(services, WRITE_PLAN, services.settings.users["alice"])  # pending
    approved(services)
    approved(services)
    monkeypatch.setattr(views, "QUEUE_LIMIT", 2)
    page = page_as(services, "carol", "/")
    assert len(QUEUED.findall(page)) == 2 and 'data-testid="queue-more"' in page
