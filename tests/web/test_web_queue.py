"""The queue page reads what it needs for all pending plans at once, not plan by plan."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from baton.services import Services
from baton.usecases.plans import plan_goal
from planner.versions import VersionStatus
from tests.api.live import make_settings, serve
from tests.web.test_web_forms import GOAL, signed_in


@pytest.fixture
def queue_site(tmp_path):
    """A server with one plan of alice's waiting for approval; tests add more."""
    services = Services(make_settings(tmp_path))
    add_pending(services, 1)
    live = serve(services)
    yield live, services
    live.stop()


def add_pending(services: Services, count: int) -> None:
    for _ in range(count):
        stored = plan_goal(services, GOAL, services.settings.users["alice"])
        assert stored.status is VersionStatus.PENDING_APPROVAL


def queries_for(services: Services, client, path: str) -> tuple[int, str]:
    """How many SQL statements answering ``path`` ran, and the page."""
    seen = []

    def count(*_args) -> None:
        seen.append(1)

    event.listen(services.engine, "before_cursor_execute", count)
    try:
        page = client.get(path)
    finally:
        event.remove(services.engine, "before_cursor_execute", count)
    assert page.status_code == 200
    return len(seen), page.text


def test_the_queue_of_a_user_who_cannot_approve_does_not_read_plan_by_plan(queue_site):
    server, services = queue_site
    dave, _ = signed_in(server, "dave")  # an auditor: never offered approval
    before, _ = queries_for(services, dave, "/")
    add_pending(services, 5)
    after, _ = queries_for(services, dave, "/")
    assert after == before


def test_an_approvers_queue_reads_the_same_whatever_the_number_of_pending_plans(queue_site):
    """Authors, decisions and approvals are read for all plans shown at once, gate included."""
    server, services = queue_site
    bob, _ = signed_in(server, "bob")
    before, page = queries_for(services, bob, "/")
    assert page.count('data-testid="queue-plan"') == 1
    add_pending(services, 5)
    after, page = queries_for(services, bob, "/")
    assert page.count('data-testid="queue-plan"') == 6
    assert after == before


def test_the_queue_agrees_with_the_gate_read_plan_by_plan(queue_site):
    """The batched reads give each plan the verdict gate_state gives it alone."""
    from baton.usecases.approving import approve
    from baton.usecases.gates import gate_state
    from baton.web.views import can_approve

    server, services = queue_site
    add_pending(services, 2)
    carol_user = services.settings.users["carol"]
    first = services.plan_store.list_plans(VersionStatus.PENDING_APPROVAL)[0]
    approve(services, first.plan_id, services.settings.users["bob"])  # one approval given
    carol, _ = signed_in(server, "carol")
    _, page = queries_for(services, carol, "/")
    shown = set(re.findall(r'href="/plans/([^"]+)" data-testid="queue-plan"', page))
    expected = {s.plan_id for s in services.plan_store.list_plans(VersionStatus.PENDING_APPROVAL)
                if can_approve(s, gate_state(services, s.plan_id), carol_user,
                               services.plan_store.authors(s.plan_id))}
    assert shown == expected and shown



def test_a_plan_waiting_behind_many_newer_plans_stays_in_the_queue(queue_site):
    """The queue reads the waiting plans, not the page's short list of recent plans."""
    server, services = queue_site
    oldest = services.plan_store.list_plans(VersionStatus.PENDING_APPROVAL)[0]
    add_pending(services, 30)  # as many as "Recent plans" lists: the oldest is out of it
    bob, _ = signed_in(server, "bob")
    _, page = queries_for(services, bob, "/")
    shown = re.findall(r'href="/plans/([^"]+)" data-testid="queue-plan"', page)
    assert len(shown) == 31 and oldest.plan_id in shown
    assert 'data-testid="queue-more"' not in page


def test_a_queue_past_its_bound_says_more_plans_wait(queue_site, monkeypatch):
    import baton.web.views as views

    server, services = queue_site
    add_pending(services, 3)
    monkeypatch.setattr(views, "QUEUE_LIMIT", 2)
    bob, _ = signed_in(server, "bob")
    _, page = queries_for(services, bob, "/")
    assert page.count('data-testid="queue-plan"') == 2 and 'data-testid="queue-more"' in page


def test_a_plans_page_lists_its_runs_however_many_other_runs_are_newer(queue_site):
    from baton.web.views import runs_of
    from executor.store.runs import RunStore

    _, services = queue_site
    runs = RunStore(services.engine, services.ledger)
    runs.create(run_id="mine", plan_id="p-mine", version=1, plan_hash="0" * 64, steps=(),
                requested_by="alice", concurrency=1)
    for n in range(200):  # as many as the page lists
        runs.create(run_id=f"other-{n}", plan_id="p-other", version=1, plan_hash="0" * 64,
                    steps=(), requested_by="alice", concurrency=1)
    assert [r.id for r in runs_of(services, "p-mine")] == ["mine"]
