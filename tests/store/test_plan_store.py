"""PlanStore on SQLite and PostgreSQL: versions, supersession, invalid records, not-found errors."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text

from executor.store import make_engine
from executor.store.migrate import upgrade
from executor.store.plans import NewVersion, PlanNotFoundError, PlanStore
from planner.base import PlannerKind
from planner.diff import diff_plans
from planner.plan import Plan, TemplateOrigin
from planner.problems import Problem, ProblemCode
from planner.versions import VersionStatus

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_schema_engine():
    admin = make_engine(PG_URL)
    try:
        with admin.connect():
            pass
    except Exception:  # noqa: BLE001 (any connection failure means: no server here)
        admin.dispose()
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema = f"plans_{secrets.token_hex(4)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    return admin, engine, schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
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


def _plan(path: str = "sales.csv") -> Plan:
    return Plan.model_validate({"goal": "copy it", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": path}},
        {"id": "save", "tool": "files.write", "args": {"path": "b.csv", "text": {"ref": "load.text"}}},
    ]})


def _valid(plan: Plan, **extra) -> NewVersion:
    return NewVersion(plan=plan, status=VersionStatus.VALIDATED, planner=PlannerKind.TEMPLATE,
                      created_by="alice", **extra)


def test_a_new_plan_is_stored_as_version_one(store):
    origin = TemplateOrigin(name="copy-file", version=1, params={"source": "sales.csv"})
    stored = store.create_plan("copy it", "alice", _valid(_plan(), origin=origin))
    assert stored.plan_id.startswith("p-") and len(stored.plan_id) == 10
    assert stored.version == 1 and stored.status is VersionStatus.VALIDATED
    assert stored.plan_hash == _plan().plan_hash()
    again = store.get(stored.plan_id)
    assert again == stored
    assert again.origin == origin and again.created_at.tzinfo is not None


def test_revision_keeps_history_and_supersedes_the_previous_version(store):
    first = store.create_plan("copy it", "alice", _valid(_plan()))
    second = store.add_version(first.plan_id, _valid(_plan("other.csv"), feedback="use other.csv"))
    versions = store.versions(first.plan_id)
    assert [(v.version, v.status) for v in versions] == [
        (1, VersionStatus.SUPERSEDED), (2, VersionStatus.VALIDATED)]
    assert store.get(first.plan_id) == second
    assert store.get(first.plan_id, 1).plan == _plan()
    assert second.feedback == "use other.csv" and second.requester == "alice"
    diff = diff_plans(versions[0].plan, versions[1].plan)
    assert [(c.step, c.paths) for c in diff.changed] == [("load", ("$.args.path",))]
    assert '-        "path": "sales.csv"' in diff.text and '+        "path": "other.csv"' in diff.text


def test_a_final_version_keeps_its_status_when_a_new_one_is_added(store):
    first = store.create_plan("copy it", "alice", _valid(_plan()))
    store.set_status(first.plan_id, 1, VersionStatus.REJECTED)
    store.add_version(first.plan_id, _valid(_plan("x.csv")))
    assert store.get(first.plan_id, 1).status is VersionStatus.REJECTED


def test_invalid_documents_are_stored_with_their_problems(store):
    problem = Problem(code=ProblemCode.UNKNOWN_TOOL, step="a", path="$.steps[0].tool", message="no")
    document = {"goal": "bad", "steps": [{"id": "A!", "tool": "nope"}]}
    stored = store.create_plan("bad", "alice", NewVersion(
        document=document, status=VersionStatus.INVALID, planner=PlannerKind.FILE,
        problems=(problem,), created_by="alice"))
    again = store.get(stored.plan_id)
    assert again.status is VersionStatus.INVALID
    assert again.document == document and again.plan.steps == ()
    assert again.problems == (problem,)


def test_a_failed_planning_is_stored_with_its_error(store):
    stored = store.create_plan("do magic", "alice", NewVersion(
        status=VersionStatus.INVALID, planner=PlannerKind.TEMPLATE, created_by="alice",
        error="no template matches"))
    assert store.get(stored.plan_id).error == "no template matches"


def test_not_found_errors_name_the_plan_and_the_versions_that_exist(store):
    first = store.create_plan("copy it", "alice", _valid(_plan()))
    store.add_version(first.plan_id, _valid(_plan("x.csv")))
    with pytest.raises(PlanNotFoundError, match=rf"plan {first.plan_id} has no version 5 \(versions: 1, 2\)"):
        store.get(first.plan_id, 5)
    with pytest.raises(PlanNotFoundError, match="no plan 'p-00000000'"):
        store.get("p-00000000")
    with pytest.raises(PlanNotFoundError):
        store.add_version("p-00000000", _valid(_plan()))


def test_list_shows_the_latest_version_of_each_plan_filtered_by_status(store):
    a = store.create_plan("a", "alice", _valid(_plan()))
    b = store.create_plan("b", "bob", _valid(_plan()))
    store.add_version(a.plan_id, _valid(_plan("y.csv")))
    store.set_status(b.plan_id, 1, VersionStatus.APPROVED)
    listed = {(v.plan_id, v.version) for v in store.list_plans()}
    assert listed == {(a.plan_id, 2), (b.plan_id, 1)}
    assert [v.plan_id for v in store.list_plans(VersionStatus.APPROVED)] == [b.plan_id]
    assert len(store.list_plans(limit=1)) == 1


def test_a_locked_status_move_happens_only_from_the_statuses_named(store):
    first = store.create_plan("copy it", "alice", _valid(_plan()))
    with store.locked(first.plan_id) as plan:
        assert plan.move_status(1, VersionStatus.PENDING_APPROVAL,
                                only_from={VersionStatus.VALIDATED})
    store.add_version(first.plan_id, _valid(_plan("other.csv")))
    assert store.get(first.plan_id, 1).status is VersionStatus.SUPERSEDED
    with store.locked(first.plan_id) as plan:
        assert plan.latest_version == 2
        assert not plan.move_status(1, VersionStatus.APPROVED,
                                    only_from={VersionStatus.PENDING_APPROVAL})
    assert store.get(first.plan_id, 1).status is VersionStatus.SUPERSEDED


def test_what_a_locked_block_wrote_is_dropped_when_it_raises(store):
    first = store.create_plan("copy it", "alice", _valid(_plan()))
    with pytest.raises(RuntimeError), store.locked(first.plan_id) as plan:
        plan.move_status(1, VersionStatus.APPROVED, only_from={VersionStatus.VALIDATED})
        raise RuntimeError("refused after the write")
    assert store.get(first.plan_id).status is VersionStatus.VALIDATED
    with pytest.raises(PlanNotFoundError), store.locked("p-00000000"):
        pass
