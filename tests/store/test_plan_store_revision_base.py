"""A revision names the version it revises: PlanStore.add_version stores it only while that is
still the latest version, checked under the plan's lock (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from sqlalchemy import text

from executor.store import make_engine
from executor.store.migrate import upgrade
from executor.store.plans import NewVersion, PlanChangedError, PlanStore
from planner.base import PlannerKind
from planner.plan import Plan
from planner.versions import VersionStatus
from tests.store.test_plan_store import _pg_schema_engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """A PlanStore over a fresh SQLite file, then a private PostgreSQL schema."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'baton.db'}")
        upgrade(engine)
        yield PlanStore(engine)
        engine.dispose()
        return
    admin, engine, schema = _pg_schema_engine()
    upgrade(engine)
    yield PlanStore(engine)
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _plan(text: str) -> Plan:
    return Plan.model_validate({"goal": "write it", "steps": [
        {"id": "save", "tool": "files.write", "args": {"path": "out.txt", "text": text}}]})


def _revision(text: str, revises: int | None) -> NewVersion:
    return NewVersion(plan=_plan(text), status=VersionStatus.VALIDATED, planner=PlannerKind.LLM,
                      created_by="alice", feedback=f"say {text}", revises=revises)


def test_a_revision_of_the_latest_version_is_stored(store):
    first = store.create_plan("write it", "alice", _revision("v1", None))
    second = store.add_version(first.plan_id, _revision("hello", revises=1))
    assert second.version == 2 and store.get(first.plan_id, 1).status is VersionStatus.SUPERSEDED


def test_a_revision_of_a_version_that_is_no_longer_the_latest_is_refused(store):
    first = store.create_plan("write it", "alice", _revision("v1", None))
    store.add_version(first.plan_id, _revision("hello", revises=1))
    with pytest.raises(PlanChangedError) as refused:
        store.add_version(first.plan_id, _revision("bonjour", revises=1))
    assert refused.value.message == (f"plan {first.plan_id} changed while revising: v2 was added; "
                                     "revise again")
    assert refused.value.code == "plan_changed"
    assert refused.value.latest == 2 and refused.value.base == 1
    assert [(v.version, v.status, v.plan) for v in store.versions(first.plan_id)] == [
        (1, VersionStatus.SUPERSEDED, _plan("v1")), (2, VersionStatus.VALIDATED, _plan("hello"))]
    store.add_version(first.plan_id, _revision("v3", revises=2))
    with pytest.raises(PlanChangedError, match="v2 and v3 were added; revise again"):
        store.add_version(first.plan_id, _revision("late", revises=1))


def test_of_two_revisions_of_the_same_version_at_once_exactly_one_is_stored(store):
    for trial in range(8):
        first = store.create_plan("write it", "alice", _revision("v1", None))
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def revise(text: str, plan_id: str = first.plan_id, start=start, outcomes=outcomes):
            start.wait()
            try:
                store.add_version(plan_id, _revision(text, revises=1))
                outcomes.append(f"stored {text}")
            except PlanChangedError:
                outcomes.append("conflict")

        threads = [threading.Thread(target=revise, args=(t,)) for t in ("hello", "bonjour")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes)[0] == "conflict" and len(outcomes) == 2, (trial, outcomes)
        (stored,) = [o.removeprefix("stored ") for o in outcomes if o != "conflict"]
        assert [v.version for v in store.versions(first.plan_id)] == [1, 2]
        assert store.get(first.plan_id).plan == _plan(stored)
