"""What waits for approval (``status=pending_approval``) fills its page: ``limit`` versions that
really wait, on SQLite and PostgreSQL. The store reads as candidates every approved version
with an approval that no longer counts, and the gate then drops those whose other approvals
still suffice; the limit was applied to the candidates, so each such version dropped took a
place on the page while older plans that wait were left out (``limit=1`` listed nothing with
one waiting behind one covered). Candidates are now read in batches, each after the last
plan of the one before, until the page is full or none are left; whether more wait is known
exactly (the web queue's ``more_waiting``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from baton.services import Services
from baton.usecases import plan_listing
from baton.usecases.approving import approve
from baton.usecases.deciding import vet_version
from baton.usecases.plan_listing import listed_plans
from executor.store.schema import PlanRow
from planner.versions import StoredVersion, VersionStatus
from tests.support.gate_services import BOB, CAROL, WRITE_PLAN, services_on, store_version

HOURS_AGO = datetime.now(UTC) - timedelta(hours=2)  # past the tests' one-hour TTL


@pytest.fixture
def services(url, tmp_path) -> Iterator[Services]:
    made = services_on(url, tmp_path)
    yield made
    made.engine.dispose()


def pending(services: Services) -> StoredVersion:
    """A new plan waiting for its first approval."""
    version = store_version(services, WRITE_PLAN)
    vet_version(services, version)
    return version


def lapsed(services: Services) -> StoredVersion:
    """A plan approved by bob long ago: his approval expired, so it waits again."""
    version = pending(services)
    approve(services, version.plan_id, BOB, now=HOURS_AGO)
    assert services.plan_store.get(version.plan_id).status is VersionStatus.APPROVED
    return version


def covered(services: Services) -> StoredVersion:
    """A plan whose approval by bob expired but carol's, given since, counts: it waits for
    nobody, though the store reads it as a candidate."""
    version = lapsed(services)
    approve(services, version.plan_id, CAROL)
    return version


def waiting_ids(services: Services, limit: int) -> list[str]:
    return [entry.version.plan_id
            for entry in listed_plans(services, VersionStatus.PENDING_APPROVAL, limit)]


def test_a_covered_version_takes_no_place_on_the_page(services):
    """The reviewer's case: X waits, Y (newer) has one lapsed approval and one that counts."""
    x = pending(services)
    covered(services)
    assert waiting_ids(services, 1) == [x.plan_id]
    assert waiting_ids(services, 2) == [x.plan_id]


def test_a_page_fills_past_any_number_of_covered_versions(services, monkeypatch):
    monkeypatch.setattr(plan_listing, "WAITING_BATCH", 1)  # several batches with a few plans
    makers: list[Callable[[Services], StoredVersion]] = [
        pending, covered, covered, lapsed, covered, covered, covered, pending, covered, lapsed,
        covered]
    made = [(make, make(services)) for make in makers]
    wait = [v.plan_id for make, v in reversed(made) if make is not covered]  # newest first
    assert len(wait) == 4
    for limit in range(1, 7):
        assert waiting_ids(services, limit) == wait[:limit], limit


def test_whether_more_wait_is_exact(services, monkeypatch):
    from baton.usecases.plan_listing import waiting_page

    monkeypatch.setattr(plan_listing, "WAITING_BATCH", 1)
    older = pending(services)
    covered(services)
    newer = lapsed(services)
    covered(services)
    assert [e.version.plan_id for e in waiting_page(services, 2).listed] == [
        newer.plan_id, older.plan_id]
    assert waiting_page(services, 2).more is False  # two wait: none past them
    assert waiting_page(services, 3).more is False
    page = waiting_page(services, 1)
    assert [e.version.plan_id for e in page.listed] == [newer.plan_id] and page.more is True


def test_a_full_page_reads_no_further_candidates(services, monkeypatch):
    """Bounded: batches stop once the page is full, and each reads a bounded number."""
    monkeypatch.setattr(plan_listing, "WAITING_BATCH", 1)
    for _ in range(4):
        covered(services)
    first = [pending(services) for _ in range(3)]
    reads: list[int] = []
    list_waiting = services.plan_store.list_waiting

    def counted(**options):
        found = list_waiting(**options)
        reads.append(len(found))
        return found

    monkeypatch.setattr(services.plan_store, "list_waiting", counted)
    assert waiting_ids(services, 2) == [v.plan_id for v in reversed(first)][:2]
    assert reads == [3]  # limit + 1 read, enough to fill the page and say whether more wait
    reads.clear()
    assert len(waiting_ids(services, 4)) == 3
    assert reads == [5, 2]  # two batches reach the last candidate: nothing past it is read


def test_the_store_reads_the_candidates_after_a_plan_newest_first_ties_by_id(services):
    made = [pending(services).plan_id for _ in range(5)]
    same = datetime(2030, 1, 1, tzinfo=UTC)
    with services.engine.begin() as conn:  # three plans created at the very same instant
        conn.execute(update(PlanRow).where(col(PlanRow.id).in_(made[1:4]))
                     .values(created_at=same))
    store = services.plan_store

    def read(after: str | None, limit: int = 10) -> list[str]:
        return [v.plan_id for v in store.list_waiting(
            now=datetime.now(UTC), ttl=timedelta(hours=1), role_holders={"approver": {"bob"}},
            limit=limit, after=after)]

    order = read(None)
    assert order == [*sorted(made[1:4]), made[4], made[0]]
    for at, plan_id in enumerate(order):
        assert read(plan_id) == order[at + 1:]
        assert read(plan_id, 2) == order[at + 1:at + 3]
