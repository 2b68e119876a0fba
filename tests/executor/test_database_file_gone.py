"""SQLite: a database file deleted or replaced under a running run stops it with a StoreError,
instead of the run writing on into a file nobody will find again and reporting success."""

from __future__ import annotations

import os
import shutil

import pytest

from executor.store.db import StoreError, make_engine
from executor.store.migrate import upgrade
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tools import ToolRegistry

PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "gone"},
                                                    {"id": "b", "tool": "gone", "depends_on": ["a"]}]})


def _files(path):
    return [path, f"{path}-wal", f"{path}-shm"]


def _delete(path):
    for name in _files(path):
        if os.path.exists(name):
            os.remove(name)


def _replace(path):
    copy = f"{path}.copy"
    shutil.copyfile(path, copy)
    os.replace(copy, path)


@pytest.mark.parametrize("how, said", [(_delete, "deleted"), (_replace, "replaced")])
def test_a_run_whose_database_file_goes_away_fails_naming_it(tmp_path, how, said):
    path = str(tmp_path / "baton.db")
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    registry = ToolRegistry()

    @registry.tool("gone")
    def gone() -> int:
        """Takes the database file away the first time."""
        if os.path.exists(path) and not calls:
            how(path)
        calls.append(1)
        return 1

    calls: list[int] = []
    runner = make_runner(engine, registry, tmp_path)
    run_id = runner.create_run(approved_plan(engine, PLAN), 1, PLAN, requested_by="alice")
    with pytest.raises(StoreError) as caught:
        runner.run_sync(run_id)
    assert str(caught.value) == (f"the database failed while recording run {run_id}: "
                                 f"the database file {path} was {said} while in use")
    assert calls == [1]  # step b never started: the result of a was never recorded
    engine.dispose()


def test_the_end_of_a_run_is_not_written_into_a_deleted_file(tmp_path):
    path = str(tmp_path / "baton.db")
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    runner = make_runner(engine, ToolRegistry(), tmp_path)
    plan = Plan.model_validate({"goal": "g", "steps": []})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    _delete(path)
    from executor.records import RunStatus

    with pytest.raises(StoreError, match=f"while ending run {run_id}: the database file .* deleted"):
        runner.store.finish(run_id, runner.owner_id, RunStatus.SUCCEEDED, None)
    engine.dispose()
