"""``TemplateLibrary.save``: a version is claimed exclusively, recorded, then put in place.

Two libraries read before either saved (two processes) once both saved v1, the second file
over the first. A save now takes the first version nobody has saved or claimed, and its file
is live only after ``record`` returned; when ``record`` fails nothing is left.
"""

from __future__ import annotations

import errno
import os

import pytest

import planner.templates.loader as loader
from planner.templates import Template, TemplateError, TemplateLibrary

TEMPLATE = Template.model_validate({
    "name": "read-one", "example_goals": ["Read notes.txt"], "patterns": ["read {path}"],
    "params": [{"name": "path", "pattern": "^[a-z.]+$"}],
    "plan": {"steps": [{"id": "load", "tool": "files.read", "args": {"path": "{{path}}"}}]},
})


def _library(directory) -> TemplateLibrary:  # noqa: ANN001
    """The library a process starting now reads."""
    return TemplateLibrary.load([directory], writable_dir=directory)


def _described(directory) -> dict[int, str]:  # noqa: ANN001
    return {t.version: t.description for t in _library(directory).versions("read-one")}


def test_two_libraries_read_before_either_saved_save_v1_and_v2(tmp_path):
    first, second = _library(tmp_path), _library(tmp_path)
    first.save(TEMPLATE.model_copy(update={"description": "first"}))
    saved, path = second.save(TEMPLATE.model_copy(update={"description": "second"}))
    assert (saved.version, path.name) == (2, "read-one.v2.yaml")
    assert _described(tmp_path) == {1: "first", 2: "second"}


def test_a_failing_record_leaves_no_file_and_no_claim(tmp_path):
    def record(stored, path):  # noqa: ANN001, ANN202
        assert sorted(os.listdir(tmp_path)) == [".read-one.v1.yaml.claim"]  # claimed, not live
        assert _library(tmp_path).names() == []
        raise RuntimeError("the ledger is down")

    library = _library(tmp_path)
    with pytest.raises(RuntimeError, match="ledger is down"):
        library.save(TEMPLATE, record=record)
    assert os.listdir(tmp_path) == []
    assert library.names() == []  # not even in this process's library


def test_record_is_told_the_version_and_file_that_go_live(tmp_path):
    told = []
    saved, path = _library(tmp_path).save(TEMPLATE, record=lambda s, p: told.append((s, p)))
    assert told == [(saved, path)] and path.read_text() == loader.template_yaml(saved)
    assert sorted(os.listdir(tmp_path)) == ["read-one.v1.yaml"]


def test_a_save_whose_listing_missed_a_claim_takes_the_next_version(tmp_path, monkeypatch):
    """Listed before the first save claimed v1: the exclusive claim, not the listing, decides."""
    inner = []

    def record(stored, path):  # noqa: ANN001, ANN202
        monkeypatch.setattr(loader, "_next_on_disk", lambda directory, name: 1)
        inner.append(_library(tmp_path).save(TEMPLATE.model_copy(update={"description": "b"})))

    saved, _ = _library(tmp_path).save(TEMPLATE.model_copy(update={"description": "a"}),
                                       record=record)
    assert (saved.version, inner[0][0].version) == (1, 2)
    assert _described(tmp_path) == {1: "a", 2: "b"}


def test_a_claim_left_by_a_crashed_save_is_never_read_and_its_version_is_skipped(tmp_path):
    (tmp_path / ".read-one.v1.yaml.claim").write_text(loader.template_yaml(
        TEMPLATE.model_copy(update={"version": 1, "pre_approved": True, "approved_by": "x"})))
    assert _library(tmp_path).names() == []  # not live: no standard change is made from it
    saved, _ = _library(tmp_path).save(TEMPLATE)
    assert saved.version == 2 and list(_described(tmp_path)) == [2]


def test_a_file_put_in_place_by_hand_during_the_save_is_not_replaced(tmp_path):
    def record(stored, path):  # noqa: ANN001, ANN202
        path.write_text("name: read-one\n# by hand\n")

    with pytest.raises(TemplateError, match="appeared while the template was being saved") as hit:
        _library(tmp_path).save(TEMPLATE, record=record)
    assert hit.value.code == "conflict"
    assert (tmp_path / "read-one.v1.yaml").read_text().endswith("# by hand\n")
    assert sorted(os.listdir(tmp_path)) == ["read-one.v1.yaml"]


@pytest.mark.parametrize("by_hand", [False, True])
def test_without_hard_links_the_claim_is_moved_into_place(tmp_path, monkeypatch, by_hand):
    def no_links(source, target):  # noqa: ANN001, ANN202
        raise OSError(errno.EPERM, "Operation not permitted")

    def record(stored, path):  # noqa: ANN001, ANN202
        if by_hand:
            path.write_text("name: read-one\n# by hand\n")

    monkeypatch.setattr(loader.os, "link", no_links)
    if by_hand:
        with pytest.raises(TemplateError, match="appeared"):
            _library(tmp_path).save(TEMPLATE, record=record)
        assert (tmp_path / "read-one.v1.yaml").read_text().endswith("# by hand\n")
    else:
        saved, path = _library(tmp_path).save(TEMPLATE, record=record)
        assert path.read_text() == loader.template_yaml(saved)
    assert sorted(os.listdir(tmp_path)) == ["read-one.v1.yaml"]


def test_claims_taken_as_fast_as_they_are_tried_end_in_a_conflict_error(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "_next_on_disk", lambda directory, name: 1)
    for version in range(1, loader._CLAIM_TRIES + 1):
        (tmp_path / f".read-one.v{version}.yaml.claim").touch()
    with pytest.raises(TemplateError, match="retry") as hit:
        _library(tmp_path).save(TEMPLATE)
    assert hit.value.code == "conflict"
    assert not (tmp_path / "read-one.v1.yaml").exists()


def test_a_version_recorded_but_not_put_in_place_is_never_given_again(tmp_path, monkeypatch):
    # The ledger holds the version's template_saved event: the next save, which the error
    # asks for, must take the next number, not record a second, different v1.
    real_link, failures = os.link, [OSError(errno.ENOSPC, "No space left on device")]

    def link_failing_once(*args, **kwargs):
        if failures:
            raise failures.pop()
        return real_link(*args, **kwargs)

    monkeypatch.setattr(loader.os, "link", link_failing_once)
    recorded: list[int] = []
    with pytest.raises(TemplateError, match="recorded in the ledger as saved"):
        _library(tmp_path).save(TEMPLATE, record=lambda t, _: recorded.append(t.version))
    saved, path = _library(tmp_path).save(TEMPLATE, record=lambda t, _: recorded.append(t.version))
    assert recorded == [1, 2] and (saved.version, path.name) == (2, "read-one.v2.yaml")
    assert [t.version for t in _library(tmp_path).versions("read-one")] == [2]
