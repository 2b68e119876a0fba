"""A damaged artifact file is written anew the next time its bytes are stored."""

from __future__ import annotations

import pytest

from executor.artifacts import URI_PREFIX, ArtifactStore


def _damage_truncate(path, data):
    path.write_bytes(b"")


def _damage_zero_fill(path, data):
    path.write_bytes(b"\0" * len(data))


def _damage_delete(path, data):
    path.unlink()


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_zero_fill, _damage_delete])
def test_storing_the_bytes_of_a_damaged_artifact_repairs_it(tmp_path, damage):
    store = ArtifactStore(tmp_path / "artifacts", threshold_bytes=8)
    data = b'{"rows":[' + b"1," * 5000 + b'1]}'
    digest = store.put(data)
    path = store.path_of(digest)
    damage(path, data)
    assert store.put(data) == digest
    assert path.read_bytes() == data
    assert store.read_bytes(URI_PREFIX + digest) == data
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_an_intact_artifact_is_not_written_again(tmp_path):
    store = ArtifactStore(tmp_path / "artifacts", threshold_bytes=8)
    data = b"x" * 100
    path = store.path_of(store.put(data))
    before = path.stat().st_ino
    store.put(data)
    assert path.stat().st_ino == before  # no temp file renamed over it
