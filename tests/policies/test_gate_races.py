"""The approval gate under concurrency, on SQLite and PostgreSQL.

An approval, a rejection, a revision and a policy decision each check the plan's state and
then write: another of them landing between the check and the write must not leave a
superseded version approved, a rejected version "approved", or a two-approver plan stuck
with both approvals given. The forced tests run the other action from inside the first one's
check (in a thread: with the fix it waits for the plan's lock); the stress tests race real
threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

import baton.usecases.approving as approving
from baton.usecases.approving import approve, reject
from baton.usecases.deciding import vet_version
from baton.usecases.gates import NotApprovedError, gate_state, require_approved
from planner.versions import VersionStatus
from policies.approval import ApprovalRefused, GateStatus
from tests.support.gate_services import (
    BACKENDS,
    BOB,
    CAROL,
    READ_PLAN,
    RISKY_PLAN,
    WRITE_PLAN,
    gate_services,
    store_version,
)

REVISED = {**WRITE_PLAN, "goal": "copy the export elsewhere", "steps": [
    WRITE_PLAN["steps"][0], {**WRITE_PLAN["steps"][1],
                             "args": {"path": "public/leak.csv", "text": {"ref": "load.text"}}}]}
# Long enough for the other action to finish when nothing holds it back; with the plan
# locked it waits, and the first action goes on without it.
INTERLEAVE_WAIT_S = 1.0


@pytest.fixture(params=BACKENDS)
def services(request, tmp_path):
    with gate_services(request.param, tmp_path) as services:
        yield services


class Meanwhile:
    """Runs ``action`` in a thread the first time the wrapped function returns, and waits a
    moment for it: the other party acting between a check and the write it allows."""

    def __init__(self, action: Callable[[], object]) -> None:
        self._action = action
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def wrap(self, real: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*args: object, **kwargs: object) -> object:
            result = real(*args, **kwargs)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run)
                self._thread.start()
                self._thread.join(INTERLEAVE_WAIT_S)
            return result
        return wrapper

    def _run(self) -> None:
        try:
            self._action()
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self.errors.append(exc)

    def finish(self) -> list[BaseException]:
        """Wait for the action to end; what it raised."""
        assert self._thread is not None, "the hook never ran"
        self._thread.join(60)
        assert not self._thread.is_alive()
        return self.errors


def _revise(services, plan_id: str) -> None:
    vet_version(services, store_version(services, REVISED, plan_id=plan_id))


def test_a_revision_during_an_approval_leaves_the_old_version_superseded(services, monkeypatch):
    v1 = store_version(services, WRITE_PLAN)
    vet_version(services, v1)
    meanwhile = Meanwhile(lambda: _revise(services, v1.plan_id))
    monkeypatch.setattr(approving, "check_can_approve", meanwhile.wrap(approving.check_can_approve))
    approve(services, v1.plan_id, BOB, version=1)
    assert meanwhile.finish() == []
    assert services.plan_store.get(v1.plan_id).version == 2
    assert services.plan_store.get(v1.plan_id, 1).status is VersionStatus.SUPERSEDED
    with pytest.raises(NotApprovedError):
        require_approved(services, v1.plan_id, 1)
    assert services.plan_store.get(v1.plan_id, 2).status is VersionStatus.PENDING_APPROVAL


def test_two_approvers_at_once_both_count_and_the_version_is_approved(services, monkeypatch):
    version = store_version(services, RISKY_PLAN, requester="root")
    assert vet_version(services, version).approvals.count == 2
    meanwhile = Meanwhile(lambda: approve(services, version.plan_id, CAROL))
    monkeypatch.setattr(approving, "check_can_approve", meanwhile.wrap(approving.check_can_approve))
    approve(services, version.plan_id, BOB)
    assert meanwhile.finish() == []
    assert gate_state(services, version.plan_id).status is GateStatus.APPROVED
    assert services.plan_store.get(version.plan_id).status is VersionStatus.APPROVED
    require_approved(services, version.plan_id)


def test_a_rejection_during_an_approval_leaves_the_version_rejected(services, monkeypatch):
    version = store_version(services, WRITE_PLAN)
    vet_version(services, version)
    meanwhile = Meanwhile(lambda: reject(services, version.plan_id, CAROL, reason="wrong target"))
    monkeypatch.setattr(approving, "check_can_approve", meanwhile.wrap(approving.check_can_approve))
    approve(services, version.plan_id, BOB)
    assert meanwhile.finish() == []
    assert gate_state(services, version.plan_id).status is GateStatus.REJECTED
    assert services.plan_store.get(version.plan_id).status is VersionStatus.REJECTED


def test_an_approval_during_a_rejection_is_refused(services, monkeypatch):
    version = store_version(services, WRITE_PLAN)
    vet_version(services, version)
    meanwhile = Meanwhile(lambda: approve(services, version.plan_id, BOB))
    monkeypatch.setattr(approving, "check_can_reject", meanwhile.wrap(approving.check_can_reject))
    reject(services, version.plan_id, CAROL, reason="wrong target")
    errors = meanwhile.finish()
    assert services.plan_store.get(version.plan_id).status is VersionStatus.REJECTED
    assert gate_state(services, version.plan_id).status is GateStatus.REJECTED
    assert [type(e) for e in errors] == [ApprovalRefused]


def test_a_revision_while_the_policies_decide_keeps_the_old_version_superseded(services,
                                                                               monkeypatch):
    """A read-only plan needs no approval: deciding it would make the old version runnable."""
    v1 = store_version(services, READ_PLAN)
    engine = services.policy_engine
    meanwhile = Meanwhile(lambda: store_version(services, REVISED, plan_id=v1.plan_id))
    monkeypatch.setattr(engine, "decide", meanwhile.wrap(engine.decide))
    assert vet_version(services, v1).approvals.count == 0
    assert meanwhile.finish() == []
    assert services.plan_store.get(v1.plan_id, 1).status is VersionStatus.SUPERSEDED
    with pytest.raises(NotApprovedError):
        require_approved(services, v1.plan_id, 1)


def test_only_the_current_version_may_run(services):
    v1 = store_version(services, WRITE_PLAN)
    vet_version(services, v1)
    approve(services, v1.plan_id, BOB)
    vet_version(services, store_version(services, REVISED, plan_id=v1.plan_id))
    services.plan_store.set_status(v1.plan_id, 1, VersionStatus.APPROVED)  # forced
    with pytest.raises(NotApprovedError, match="v2 is"):
        require_approved(services, v1.plan_id, 1)


def _race(*actions: Callable[[], object]) -> None:
    """Run the actions in threads released together; refusals are expected outcomes."""
    barrier = threading.Barrier(len(actions))

    def go(action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
        except ApprovalRefused:
            pass

    threads = [threading.Thread(target=go, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


TRIALS = 20


def test_racing_approvals_revisions_and_rejections_leave_consistent_statuses(services):
    """Before the fix each race below went wrong in a few of every twenty trials or more."""
    wrong: list[str] = []
    for trial in range(TRIALS):
        risky = store_version(services, RISKY_PLAN, requester="root")
        vet_version(services, risky)
        _race(lambda: approve(services, risky.plan_id, BOB),
              lambda: approve(services, risky.plan_id, CAROL))
        if services.plan_store.get(risky.plan_id).status is not VersionStatus.APPROVED:
            wrong.append(f"trial {trial}: two approvals, not approved")

        copy = store_version(services, WRITE_PLAN)
        vet_version(services, copy)
        _race(lambda: approve(services, copy.plan_id, BOB, version=1),
              lambda: _revise(services, copy.plan_id))
        if services.plan_store.get(copy.plan_id, 1).status is not VersionStatus.SUPERSEDED:
            wrong.append(f"trial {trial}: revised v1 not superseded")

        other = store_version(services, WRITE_PLAN)
        vet_version(services, other)
        _race(lambda: approve(services, other.plan_id, BOB),
              lambda: reject(services, other.plan_id, CAROL, reason="no"))
        if services.plan_store.get(other.plan_id).status is not VersionStatus.REJECTED:
            wrong.append(f"trial {trial}: rejected version stored as "
                         f"{services.plan_store.get(other.plan_id).status.value}")
    assert wrong == []
