"""An approved version whose approvals lapsed (expired, or the approver lost the role) waits
for approval again: listing what waits for approval (``status=pending_approval``) names it
with why, on SQLite and PostgreSQL. Before, only the stored status was read, so such a
version waited for nobody until someone asked to run it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from baton.services import Services
from baton.usecases.plan_listing import listed_plans
from baton.usecases.vetting import approve, vet_version
from planner.versions import StoredVersion, VersionStatus
from tests.support.gate_services import (
    BOB,
    CAROL,
    READ_PLAN,
    USERS,
    WRITE_PLAN,
    services_on,
    store_version,
)

HOURS_AGO = datetime.now(UTC) - timedelta(hours=2)  # past the tests' one-hour TTL
EXPIRED = "approval lapsed (expired)"
LOST_ROLE = "approval lapsed (approver lost role)"


@pytest.fixture
def services_at(url, tmp_path) -> Iterator[Callable[..., Services]]:
    """Services over the test's database with the given settings (disposed afterwards)."""
    made: list[Services] = []

    def make(**settings: object) -> Services:
        made.append(services_on(url, tmp_path, **settings))
        return made[-1]

    yield make
    for services in made:
        services.engine.dispose()


def _decided(services: Services, document: dict = WRITE_PLAN) -> StoredVersion:
    version = store_version(services, document)
    vet_version(services, version)
    return version


def _approved(services: Services, *, at: datetime | None = None) -> StoredVersion:
    version = _decided(services)
    approve(services, version.plan_id, BOB, now=at)
    assert services.plan_store.get(version.plan_id).status is VersionStatus.APPROVED
    return version


def _waiting(services: Services, **options) -> dict[str, str | None]:
    """What waits for approval: each plan id and its lapse note."""
    return {listed.version.plan_id: listed.approval_lapsed
            for listed in listed_plans(services, VersionStatus.PENDING_APPROVAL, **options)}


def _without_bobs_role(services_at: Callable[..., Services],
                       roles: tuple[str, ...] | None) -> Services:
    """Services where bob holds ``roles`` now (None: bob is no longer declared)."""
    users = {u.id: u for u in USERS}
    if roles is None:
        del users["bob"]
    else:
        users["bob"] = BOB.model_copy(update={"roles": roles})
    return services_at(users=users)


def test_an_expired_approval_puts_its_version_back_beside_the_pending_ones(services_at):
    services = services_at()
    pending = _decided(services)
    current = _approved(services)
    lapsed = _approved(services, at=HOURS_AGO)
    allowed = _decided(services, READ_PLAN)  # needs no approval: approved without one
    assert services.plan_store.get(allowed.plan_id).status is VersionStatus.APPROVED
    waiting = _waiting(services)
    assert waiting == {pending.plan_id: None, lapsed.plan_id: EXPIRED}
    assert current.plan_id not in waiting


def test_an_approval_whose_approver_lost_the_role_puts_its_version_back(services_at):
    approved = _approved(services_at())
    assert _waiting(_without_bobs_role(services_at, ("analyst",))) == {
        approved.plan_id: LOST_ROLE}


def test_an_approver_no_longer_declared_lost_the_role(services_at):
    approved = _approved(services_at())
    assert _waiting(_without_bobs_role(services_at, None)) == {approved.plan_id: LOST_ROLE}


def test_an_approver_who_kept_another_role_the_decision_asks_for_still_counts(services_at):
    approved = _approved(services_at())
    assert approved.plan_id not in _waiting(_without_bobs_role(services_at, ("admin",)))


def test_a_lapsed_approval_that_others_still_cover_leaves_the_version_approved(services_at):
    services = services_at()
    covered = _approved(services, at=HOURS_AGO)
    approve(services, covered.plan_id, BOB)  # renewed: the expired one no longer matters
    other = _approved(services, at=HOURS_AGO)
    approve(services, other.plan_id, CAROL)  # a second approver covers the expired one
    assert _waiting(services) == {}


def test_a_superseded_version_never_comes_back(services_at):
    services = services_at()
    lapsed = _approved(services, at=HOURS_AGO)
    store_version(services, WRITE_PLAN, plan_id=lapsed.plan_id)  # v2, not decided yet
    assert services.plan_store.get(lapsed.plan_id, 1).status is VersionStatus.SUPERSEDED
    assert _waiting(services) == {}


def test_every_listing_marks_an_approved_version_whose_approvals_lapsed(services_at):
    services = services_at()
    lapsed = _approved(services, at=HOURS_AGO)
    current = _approved(services)
    for status in (None, VersionStatus.APPROVED):
        marks = {listed.version.plan_id: listed.approval_lapsed
                 for listed in listed_plans(services, status)}
        assert marks == {lapsed.plan_id: EXPIRED, current.plan_id: None}


def test_what_waits_is_listed_newest_first_up_to_the_limit(services_at):
    services = services_at()
    older = _approved(services, at=HOURS_AGO)
    pending = _decided(services)
    newer = _approved(services, at=HOURS_AGO)
    listed = listed_plans(services, VersionStatus.PENDING_APPROVAL)
    assert [entry.version.plan_id for entry in listed] == [
        newer.plan_id, pending.plan_id, older.plan_id]
    assert [entry.version.plan_id
            for entry in listed_plans(services, VersionStatus.PENDING_APPROVAL, limit=2)] == [
        newer.plan_id, pending.plan_id]


def test_the_store_reads_only_approved_versions_with_an_approval_that_no_longer_counts(
        services_at):
    """The query itself narrows the approved versions (the gate is asked only of those)."""
    services = services_at()
    current = _approved(services)
    expired = _approved(services, at=HOURS_AGO)
    _decided(services, READ_PLAN)  # approved without an approval: never read

    def read(role_holders: dict[str, set[str]]) -> set[str]:
        return {v.plan_id for v in services.plan_store.list_waiting(
            now=datetime.now(UTC), ttl=timedelta(hours=1), role_holders=role_holders,
            limit=10)}

    assert read({"approver": {"bob", "carol"}}) == {expired.plan_id}
    assert read({"approver": {"carol"}}) == {expired.plan_id, current.plan_id}
    assert read({"admin": {"bob"}}) == {expired.plan_id}  # asked for: approver or admin
    assert read({"auditor": {"bob"}}) == {expired.plan_id, current.plan_id}
    assert read({}) == {expired.plan_id, current.plan_id}
