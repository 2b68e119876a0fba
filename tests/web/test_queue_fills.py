"""The approvers' queue on the web shows every plan that waits up to its bound, and says more
wait exactly when more do, on SQLite and PostgreSQL. The bound was spent on candidates the
gate then dropped (an approved version with an expired approval that another approval still
covers), so plans that wait were left out while the page said more waited; with exactly the
bound waiting it said more waited too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from baton.services import Services
from baton.usecases.approving import approve
from baton.usecases.plans import plan_from_document
from tests.api.live import make_settings
from tests.support.gate_services import BACKENDS, database_url
from tests.support.web_pages import page_as

WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}
LONG_AGO = datetime.now(UTC) - timedelta(days=8)  # past the default 7-day TTL
QUEUED = re.compile(r'href="/plans/([^"]+)" data-testid="queue-plan"')
MORE = 'data-testid="queue-more"'


@pytest.fixture(params=BACKENDS)
def services(request, tmp_path) -> Iterator[Services]:
    with database_url(request.param, tmp_path) as url:
        made = Services(make_settings(tmp_path, database_url=url))
        yield made
        made.engine.dispose()


def pending(services: Services) -> str:
    return plan_from_document(services, WRITE_PLAN, services.settings.users["alice"]).plan_id


def covered(services: Services) -> str:
    """Approved by carol long ago (lapsed) and by frank now: it waits for nobody."""
    users = services.settings.users
    plan_id = pending(services)
    approve(services, plan_id, users["carol"], now=LONG_AGO)
    approve(services, plan_id, users["frank"])
    return plan_id


@pytest.fixture
def queue_limit(monkeypatch) -> int:
    import baton.web.views as views

    monkeypatch.setattr(views, "QUEUE_LIMIT", 2)
    return 2


def test_covered_versions_leave_the_queue_its_whole_bound(services, queue_limit):
    older, newer = pending(services), pending(services)
    covered(services)
    covered(services)
    page = page_as(services, "bob", "/")
    assert QUEUED.findall(page) == [newer, older] and MORE not in page


def test_the_queue_says_more_wait_only_past_its_bound(services, queue_limit):
    first = pending(services)
    covered(services)
    second = pending(services)
    page = page_as(services, "bob", "/")
    assert QUEUED.findall(page) == [second, first] and MORE not in page  # exactly the bound
    third = pending(services)
    page = page_as(services, "bob", "/")
    assert QUEUED.findall(page) == [third, second] and MORE in page
