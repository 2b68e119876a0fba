"""``[executor] artifact_store``: which store the application wires, and a run whose large
output one machine stored and another machine reads (two data_dirs, one database)."""

from __future__ import annotations

import pytest

from baton.services import Services
from baton.settings import ConfigError, Settings, load_settings
from baton.usecases.runs import resume_run, start_run
from executor.artifact_rows import DatabaseArtifactStore
from executor.artifacts import URI_PREFIX, ArtifactStore
from executor.records import RunStatus
from tests.support.approved_plans import ALICE, BOB, approved_copy_plan
from tests.support.policy_tools import policy_registry

SALES = "region,total\n" + "".join(f"r{i},{i}\n" for i in range(200))


def _machine(data_dir, db_url, workspace, **executor) -> Services:
    """The Services of one machine: its own data_dir, the shared database and workspace."""
    settings = Settings.model_validate({
        "data_dir": data_dir, "database_url": db_url, "workspace": workspace, "executor": executor,
        "users": {u.id: u.model_dump() for u in (ALICE, BOB)}})
    return Services(settings, registry=policy_registry(workspace))


@pytest.fixture
def workspace(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "sales.csv").write_text(SALES)
    return workspace


def test_a_later_step_on_another_machine_reads_the_output_an_earlier_one_stored(
        db_url, tmp_path, workspace):
    first = _machine(tmp_path / "a", db_url, workspace, artifact_store="database",
                     artifact_threshold_bytes=16)
    second = _machine(tmp_path / "b", db_url, workspace, artifact_store="database",
                      artifact_threshold_bytes=16)
    try:
        (workspace / "copy.csv").mkdir()  # the save step fails on the first machine
        failed = start_run(first, approved_copy_plan(first), ALICE)
        assert failed.status is RunStatus.FAILED
        load = next(s for s in failed.steps if s.step_id == "load")
        assert load.output_uri is not None and load.output_uri.startswith(URI_PREFIX)
        assert not (tmp_path / "a" / "artifacts").exists()

        (workspace / "copy.csv").rmdir()
        resumed = resume_run(second, failed.id, ALICE)  # save runs here, reading load.text

        assert resumed.status is RunStatus.SUCCEEDED, resumed.error
        assert (workspace / "copy.csv").read_text() == SALES
        assert not (tmp_path / "b" / "artifacts").exists()
    finally:
        first.engine.dispose()
        second.engine.dispose()


@pytest.mark.parametrize(("setting", "on_sqlite", "on_postgresql"), [
    ("auto", ArtifactStore, DatabaseArtifactStore),
    ("database", DatabaseArtifactStore, DatabaseArtifactStore),
    ("files", ArtifactStore, ArtifactStore),
])
def test_the_setting_picks_the_store_auto_keeps_files_on_sqlite(db_url, tmp_path, workspace,
                                                                setting, on_sqlite, on_postgresql):
    services = _machine(tmp_path / "a", db_url, workspace, artifact_store=setting)
    try:
        expected = on_postgresql if db_url.startswith("postgresql") else on_sqlite
        assert type(services.artifact_store) is expected
        assert services.artifact_store.root == (tmp_path / "a" / "artifacts").resolve()
    finally:
        services.engine.dispose()


def test_artifact_store_defaults_to_auto():
    assert Settings().executor.artifact_store == "auto"


def test_an_unknown_artifact_store_is_a_configuration_error_naming_the_choices(tmp_path):
    config = tmp_path / "baton.toml"
    config.write_text('[executor]\nartifact_store = "s3"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ={})
    assert refused.value.message == (f"invalid settings ({config}): executor.artifact_store: "
                                     "Input should be 'auto', 'database' or 'files'")
