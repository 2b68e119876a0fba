"""``[executor] artifact_store`` decides only where new artifacts are written: whatever it
says, an artifact is read from a database row or a file, so changing it (database or auto on
PostgreSQL to files, or back) leaves every output stored before readable."""

from __future__ import annotations

import pytest

from executor.artifact_rows import DatabaseArtifactStore
from executor.artifacts import URI_PREFIX, ArtifactError, ArtifactStore
from executor.store.schema import ArtifactRow
from tests.executor.test_artifact_rows_services import _machine

DATA = b'{"rows":[' + b"1," * 5000 + b'1]}'


def _files(engine, root) -> ArtifactStore:
    return ArtifactStore(root, threshold_bytes=8, engine=engine)


def test_the_file_store_reads_an_artifact_stored_as_a_row_before_the_switch(engine, tmp_path):
    root = tmp_path / "artifacts"
    uri = URI_PREFIX + DatabaseArtifactStore(engine, root, threshold_bytes=8).put(DATA)
    assert not root.exists()
    assert _files(engine, root).read_bytes(uri) == DATA
    assert not root.exists()  # read, not copied


def test_the_file_store_writes_files_and_reads_them_first(engine, tmp_path):
    root = tmp_path / "artifacts"
    store = _files(engine, root)
    stored = store.keep({"rows": list(range(100))})
    assert store.path_of(stored.sha256).is_file()
    assert store.load(stored.uri) == {"rows": list(range(100))}


def test_an_altered_row_read_by_the_file_store_is_refused(engine, tmp_path):
    root = tmp_path / "artifacts"
    digest = DatabaseArtifactStore(engine, root, threshold_bytes=8).put(DATA)
    with engine.begin() as conn:
        conn.execute(ArtifactRow.__table__.update().values(data=b"{}"))
    with pytest.raises(ArtifactError, match="its row in the database's artifacts table"):
        _files(engine, root).read_bytes(URI_PREFIX + digest)


@pytest.mark.parametrize("store", [_files, lambda engine, root: DatabaseArtifactStore(
    engine, root, threshold_bytes=8)], ids=["files", "database"])
def test_an_artifact_in_neither_place_is_missing_naming_both(engine, tmp_path, store):
    root = tmp_path / "artifacts"
    digest = "cd" * 32
    uri = URI_PREFIX + digest
    with pytest.raises(ArtifactError) as missing:
        store(engine, root).load(uri)
    assert missing.value.message == (f"artifact {uri} is missing: it is not in the database's "
                                     f"artifacts table, nor a file at {root / 'cd' / digest}")


def test_without_an_engine_a_missing_file_is_missing(tmp_path):
    digest = "cd" * 32
    with pytest.raises(ArtifactError) as missing:
        ArtifactStore(tmp_path, threshold_bytes=8).load(URI_PREFIX + digest)
    assert missing.value.message == (f"artifact {URI_PREFIX}{digest} is missing: there is no "
                                     f"file at {tmp_path / 'cd' / digest}")


@pytest.mark.parametrize(("before", "after"), [("database", "files"), ("files", "database")])
def test_changing_the_setting_leaves_stored_outputs_readable(db_url, tmp_path, before, after):
    first = _machine(tmp_path, db_url, tmp_path, artifact_store=before)
    second = _machine(tmp_path, db_url, tmp_path, artifact_store=after)
    try:
        uri = URI_PREFIX + first.artifact_store.put(DATA)
        assert second.artifact_store.read_bytes(uri) == DATA
    finally:
        first.engine.dispose()
        second.engine.dispose()
