"""Artifacts kept as database rows: shared by every process on the database, stored once
whoever stores them at the same time, checked against their hash, read from the files of
before when no row holds them."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from executor.artifact_rows import DatabaseArtifactStore
from executor.artifacts import URI_PREFIX, ArtifactError, ArtifactStore
from executor.store.db import StoreError, make_engine
from executor.store.schema import ArtifactRow

DATA = b'{"rows":[' + b"1," * 5000 + b'1]}'


def _store(engine, root) -> DatabaseArtifactStore:
    return DatabaseArtifactStore(engine, root, threshold_bytes=8)


def _rows(engine) -> list[tuple[str, bytes, int]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT sha256, data, size FROM artifacts")).all()
    return [(digest, bytes(data), size) for digest, data, size in found]


def _set_row_data(engine, digest: str, data: bytes) -> None:
    with engine.begin() as conn:
        conn.execute(ArtifactRow.__table__.update()
                     .where(ArtifactRow.__table__.c.sha256 == digest).values(data=data))


def test_an_output_stored_by_one_process_is_read_by_another_with_its_own_data_dir(
        engine, db_url, tmp_path):
    stored = _store(engine, tmp_path / "a" / "artifacts").keep({"rows": list(range(100))})
    assert stored.uri == URI_PREFIX + stored.sha256 and stored.inline_json is None
    assert not (tmp_path / "a" / "artifacts").exists()  # nothing on this machine's disk

    elsewhere = make_engine(db_url)  # committed before keep returned: another connection sees it
    try:
        assert _store(elsewhere, tmp_path / "b" / "artifacts").load(stored.uri) == {
            "rows": list(range(100))}
    finally:
        elsewhere.dispose()


def test_a_small_output_stays_inline_and_touches_no_table(engine, tmp_path):
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE artifacts"))  # any use of it would fail
    stored = _store(engine, tmp_path / "artifacts").keep({"n": 1})
    assert stored.inline_json == '{"n":1}' and stored.uri is None


def test_concurrent_stores_of_the_same_bytes_all_succeed_and_leave_one_row(engine, db_url,
                                                                           tmp_path):
    workers = 6
    barrier = threading.Barrier(workers)
    digests: list[str] = []
    errors: list[BaseException] = []

    def put() -> None:
        own = make_engine(db_url)  # a worker process of its own
        try:
            store = _store(own, tmp_path / "artifacts")
            barrier.wait(10)
            digests.append(store.put(DATA))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=put) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(digests) == workers and len(set(digests)) == 1
    assert _rows(engine) == [(digests[0], DATA, len(DATA))]


def test_storing_the_same_bytes_again_keeps_the_one_row(engine, tmp_path):
    store = _store(engine, tmp_path / "artifacts")
    assert store.put(DATA) == store.put(DATA)
    assert len(_rows(engine)) == 1


@pytest.mark.parametrize("damaged", [b"", b"\0" * len(DATA), DATA.replace(b"1", b"2", 1)],
                         ids=["emptied", "zero-filled", "altered"])
def test_an_altered_row_is_refused_on_load_and_written_anew_by_the_next_put(engine, tmp_path,
                                                                            damaged):
    store = _store(engine, tmp_path / "artifacts")
    digest = store.put(DATA)
    uri = URI_PREFIX + digest
    _set_row_data(engine, digest, damaged)

    with pytest.raises(ArtifactError) as refused:
        store.load(uri)
    assert refused.value.message == (f"artifact {uri} does not match its hash (its row in the "
                                     "database's artifacts table was altered)")

    assert store.put(DATA) == digest
    assert _rows(engine) == [(digest, DATA, len(DATA))]
    assert store.read_bytes(uri) == DATA


def test_an_artifact_stored_as_a_file_before_the_switch_is_still_read(engine, tmp_path):
    root = tmp_path / "artifacts"
    uri = URI_PREFIX + ArtifactStore(root, threshold_bytes=8).put(DATA)
    assert _store(engine, root).read_bytes(uri) == DATA
    assert _rows(engine) == []  # read, not copied


def test_an_altered_file_of_before_the_switch_is_refused(engine, tmp_path):
    root = tmp_path / "artifacts"
    files = ArtifactStore(root, threshold_bytes=8)
    digest = files.put(DATA)
    files.path_of(digest).write_bytes(b"{}")
    with pytest.raises(ArtifactError, match="does not match its hash"):
        _store(engine, root).load(URI_PREFIX + digest)



def test_a_uri_that_names_no_digest_is_refused_before_any_query(engine, tmp_path):
    with pytest.raises(ArtifactError, match="not a SHA-256 hex digest"):
        _store(engine, tmp_path / "artifacts").load(URI_PREFIX + "../../etc/passwd")


def test_a_database_failure_is_a_store_error_naming_the_artifact(engine, tmp_path):
    store = _store(engine, tmp_path / "artifacts")
    uri = URI_PREFIX + store.put(DATA)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE artifacts"))
    with pytest.raises(StoreError) as storing:
        store.put(DATA + b" ")
    assert storing.value.message.startswith("the database failed while storing artifact "
                                            f"{URI_PREFIX}")
    with pytest.raises(StoreError) as reading:
        store.load(uri)
    assert reading.value.message.startswith(f"the database failed while reading artifact {uri}: ")
