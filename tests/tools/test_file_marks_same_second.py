"""Two edits of the same size within one tick of a file system's clock give different marks.

A mark was the file's stat alone: where timestamps are whole seconds (ext4 with 128-byte
inodes, some network and FAT file systems), an edit that kept the size within the second of
the one before left the mark unchanged, and a running server never read it (a token revoked
a moment after it was added kept working). A mark taken while the file's times are that
recent also digests its contents (git's "racily clean" rule).

The file system's coarse clock is played by a stat that reports one whole second for the
file's times, and the moment the mark is taken by a fixed clock: no sleeping, no timing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tools.file_marks as file_marks
from tools.file_marks import file_mark, is_absent

SECOND = 1_700_000_000 * 1_000_000_000  # the whole second the file system says, in ns


class CoarseClock:
    """A file system whose times for ``path`` all read ``SECOND``, and the moment marks are
    taken, ``at_ns``, set by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
        self.path = os.fspath(path)
        self.at_ns = SECOND + 400_000_000  # the same second as the file's times
        real_stat = os.stat

        def stat(target, *args, **kwargs):
            found = real_stat(target, *args, **kwargs)
            if os.fspath(target) != self.path:
                return found
            seconds = SECOND // 1_000_000_000
            return os.stat_result((*found[:7], seconds, seconds, seconds), {
                "st_atime": float(seconds), "st_mtime": float(seconds),
                "st_ctime": float(seconds), "st_atime_ns": SECOND, "st_mtime_ns": SECOND,
                "st_ctime_ns": SECOND})

        monkeypatch.setattr(os, "stat", stat)
        monkeypatch.setattr(file_marks, "time_ns", lambda: self.at_ns)

    def later(self, seconds: float) -> None:
        """The clock ``seconds`` past the file's times."""
        self.at_ns = SECOND + int(seconds * 1_000_000_000)


def overwrite(path: Path, text: str) -> None:
    """Write ``text`` over the file in place (same inode), as ``open(path, "r+")`` does."""
    with open(path, "r+", encoding="utf-8") as file:
        file.write(text)
        file.truncate()


@pytest.fixture
def settings_like(tmp_path, monkeypatch):
    path = tmp_path / "baton.toml"
    path.write_text('token = "aaaa"\n', encoding="utf-8")
    return path, CoarseClock(monkeypatch, path)


def test_two_same_size_edits_in_one_second_give_different_marks(settings_like):
    path, _ = settings_like
    first = file_mark(path)
    overwrite(path, 'token = "bbbb"\n')
    second = file_mark(path)
    assert second != first
    overwrite(path, 'token = "cccc"\n')
    assert file_mark(path) not in (first, second)


def test_a_recent_file_left_alone_keeps_its_mark(settings_like):
    path, clock = settings_like
    first = file_mark(path)
    clock.later(1.5)
    assert file_mark(path) == first  # not read again at each use while nothing changed


def test_once_the_file_is_old_enough_its_mark_changes_once_then_holds(settings_like):
    path, clock = settings_like
    recent = file_mark(path)
    clock.later(60)
    old = file_mark(path)
    assert old != recent  # read once more: its mark no longer holds the digest
    assert file_mark(path) == old
    assert old[1:5] == recent[1:5]


def test_an_old_file_is_judged_by_its_stat_alone(settings_like, monkeypatch):
    path, clock = settings_like
    clock.later(60)
    first = file_mark(path)

    def no_open(*args, **kwargs):
        raise AssertionError("an old file's mark read it")

    monkeypatch.setattr(os, "open", no_open)
    # (A real file system gives the edit a later time; this one is frozen, which the
    # rule trusts for a file that was old when the mark was taken.)
    path.write_bytes(b'token = "dddd"\n')
    assert file_mark(path) == first


def test_a_racy_file_too_large_to_digest_equals_no_other_mark(settings_like, monkeypatch):
    path, _ = settings_like
    monkeypatch.setattr(file_marks, "DIGESTED_MAX_BYTES", 4)
    assert file_mark(path) != file_mark(path)


def test_a_racy_file_that_cannot_be_read_equals_no_other_mark(settings_like):
    path, _ = settings_like
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path.chmod(0)
    try:
        assert file_mark(path) != file_mark(path)
    finally:
        path.chmod(0o600)


def test_a_recent_pipe_is_marked_without_being_read(tmp_path):
    pipe = tmp_path / "fifo"
    os.mkfifo(pipe)
    assert file_mark(pipe) == file_mark(pipe)  # opened, it would wait for a writer


def test_a_missing_file_has_a_mark_of_its_own(tmp_path):
    mark = file_mark(tmp_path / "none.toml")
    assert is_absent(mark)
    (tmp_path / "none.toml").write_text("x", encoding="utf-8")
    assert not is_absent(file_mark(tmp_path / "none.toml"))


def test_template_marks_see_a_second_edit_in_the_same_second(tmp_path, monkeypatch):
    from planner.templates.freshness import directory_marks

    template = tmp_path / "report.yaml"
    template.write_text("name: report\nsteps: 1\n", encoding="utf-8")
    CoarseClock(monkeypatch, template)
    before = directory_marks([tmp_path])
    overwrite(template, "name: report\nsteps: 2\n")
    assert directory_marks([tmp_path]) != before
