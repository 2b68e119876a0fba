"""An approved version whose approvals lapsed (expired, or the approver lost the role) waits
for approval again unless it already ran to success: listing what waits for approval
(``status=pending_approval``) names it with why, on SQLite and PostgreSQL. Before, only the
stored status was read, so such a version waited for nobody until someone asked to run it.

A version with a run that succeeded has done its job: approvals always expire, so read as
waiting it came back for every plan ever run, and flooded the queue. It is still marked
wherever it is listed, and may be approved again to run once more."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from baton.services import Services
from baton.usecases.approving import approve
from baton.usecases.deciding import vet_version
from baton.usecases.gates import NotApprovedError, require_approved
from baton.usecases.plan_listing import listed_plans
from executor.records import RunStatus
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
from tests.support.ran_runs import ran

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


def test_a_lapsed_version_that_ran_to_success_no_longer_waits_but_is_still_marked(services_at):
    services = services_at()
    done = _approved(services, at=HOURS_AGO)
    ran(services, done, RunStatus.FAILED)
    ran(services, done, RunStatus.SUCCEEDED)  # resumed or run again: it did its job
    lost = _approved(services)
    ran(services, lost, RunStatus.SUCCEEDED)
    assert _waiting(services) == {}
    assert _waiting(_without_bobs_role(services_at, ("analyst",))) == {}
    for status in (None, VersionStatus.APPROVED):
        marks = {listed.version.plan_id: listed.approval_lapsed
                 for listed in listed_plans(services, status)}
        assert marks == {done.plan_id: EXPIRED, lost.plan_id: None}


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.QUEUED,
                                    RunStatus.RUNNING])
def test_a_lapsed_version_whose_runs_did_not_succeed_still_waits(services_at, status):
    """Those may need a resume or a new run, and either needs the gate."""
    services = services_at()
    lapsed = _approved(services, at=HOURS_AGO)
    ran(services, lapsed, status)
    ran(services, lapsed, status)
    assert _waiting(services) == {lapsed.plan_id: EXPIRED}


def test_only_a_success_of_that_very_version_keeps_it_out(services_at):
    services = services_at()
    first = _approved(services)
    ran(services, first, RunStatus.SUCCEEDED)
    second = store_version(services, WRITE_PLAN, plan_id=first.plan_id)  # v2 of the same plan
    vet_version(services, second)
    approve(services, first.plan_id, BOB, now=HOURS_AGO)
    other = _approved(services, at=HOURS_AGO)
    ran(services, _approved(services), RunStatus.SUCCEEDED)  # another plan's success
    assert _waiting(services) == {first.plan_id: EXPIRED, other.plan_id: EXPIRED}


def test_the_store_never_reads_an_approved_version_that_ran_to_success(services_at):
    services = services_at()
    succeeded = _approved(services, at=HOURS_AGO)
    ran(services, succeeded, RunStatus.SUCCEEDED)
    failed = _approved(services, at=HOURS_AGO)
    ran(services, failed, RunStatus.FAILED)
    pending = _decided(services)
    found = services.plan_store.list_waiting(now=datetime.now(UTC), ttl=timedelta(hours=1),
                                             role_holders={"approver": {"bob"}}, limit=10)
    assert [v.plan_id for v in found] == [pending.plan_id, failed.plan_id]


def _refusal(services: Services, plan_id: str) -> str:
    with pytest.raises(NotApprovedError) as refused:
        require_approved(services, plan_id)  # what `baton run` and POST .../runs ask first
    return str(refused.value)


def test_a_run_refused_because_the_approval_expired_says_when_and_what_to_do(services_at):
    services = services_at()
    lapsed = _approved(services, at=HOURS_AGO)
    expired_on = f"{HOURS_AGO + timedelta(hours=1):%Y-%m-%d %H:%M} UTC"  # the tests' TTL
    assert _refusal(services, lapsed.plan_id) == (
        f"plan {lapsed.plan_id} v1 may not run: its approval lapsed (bob's approval expired "
        f"on {expired_on}); an approver must approve v1 again: needs 1 more approval(s) from "
        "a user with role approver or admin; approvals no longer valid (expired or for "
        "another plan hash): bob")


@pytest.mark.parametrize("roles", [("analyst",), None], ids=["demoted", "undeclared"])
def test_a_run_refused_because_the_approver_lost_the_role_says_what_to_do(services_at, roles):
    approved = _approved(services_at())
    refusal = _refusal(_without_bobs_role(services_at, roles), approved.plan_id)
    assert refusal.startswith(
        f"plan {approved.plan_id} v1 may not run: its approval lapsed (bob lost the role); "
        "an approver must approve v1 again: needs 1 more approval(s) from a user with role "
        "approver or admin; approval by bob no longer counts: bob "), refusal


def test_a_run_refused_before_any_approval_does_not_speak_of_a_lapse(services_at):
    services = services_at()
    pending = _decided(services)
    assert "lapsed" not in _refusal(services, pending.plan_id)
