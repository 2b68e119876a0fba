"""files.write: overwrite=false never replaces a file that appears after the check (concurrent
steps write in a thread pool), and written files get the permission bits a plain open would
give (a new file 0666 less the umask; a replaced file keeps its own)."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import ToolContext, ToolInputError, ToolRegistry
from tools.builtin import safe_paths
from tools.builtin.files import write_text


@pytest.fixture(params=["renameat2", "link"])
def publish_by(request, monkeypatch) -> str:
    """Run a test with each way of publishing without replacing."""
    if request.param == "link":  # as on a system or file system without RENAME_NOREPLACE
        monkeypatch.setattr(safe_paths, "_rename_noreplace", lambda dir_fd, tmp, name: False)
    return request.param


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def call(registry: ToolRegistry, tool: str, **args) -> dict:
    return asyncio.run(registry.get(tool).invoke(args, ToolContext(idempotency_key="k")))


def appear_after_the_walk(monkeypatch, target: Path, text: str) -> None:
    """Make ``target`` appear right after the first walk, between the check and the publish."""
    walk = safe_paths.Workspace.walk
    fired = []

    def walk_then_appear(self, path: str, **options):
        opened = walk(self, path, **options)
        if not fired:
            fired.append(path)
            target.write_text(text)
        return opened

    monkeypatch.setattr(safe_paths.Workspace, "walk", walk_then_appear)


def temp_files(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(".baton-")]


def test_a_file_that_appears_after_the_check_is_not_replaced_without_overwrite(
        registry, workspace, monkeypatch, publish_by):
    workspace.mkdir()
    appear_after_the_walk(monkeypatch, workspace / "out.txt", "first")
    with pytest.raises(ToolInputError, match="already exists with other content") as caught:
        call(registry, "files.write", path="out.txt", text="second")
    assert caught.value.code == "file_exists"
    assert (workspace / "out.txt").read_text() == "first"
    assert temp_files(workspace) == []


def test_the_same_content_appearing_after_the_check_is_the_idempotent_success(
        registry, workspace, monkeypatch, publish_by):
    workspace.mkdir()
    appear_after_the_walk(monkeypatch, workspace / "out.txt", "same")
    assert call(registry, "files.write", path="out.txt", text="same")["bytes"] == 4
    assert (workspace / "out.txt").read_text() == "same"
    assert temp_files(workspace) == []


def test_a_directory_that_appears_after_the_check_is_refused_as_a_directory(
        registry, workspace, monkeypatch):
    workspace.mkdir()
    walk = safe_paths.Workspace.walk

    def walk_then_mkdir(self, path: str, **options):
        opened = walk(self, path, **options)
        (workspace / "out.txt").mkdir(exist_ok=True)
        return opened

    monkeypatch.setattr(safe_paths.Workspace, "walk", walk_then_mkdir)
    with pytest.raises(ToolInputError) as caught:
        call(registry, "files.write", path="out.txt", text="x")
    assert caught.value.code == "file_is_dir"


def test_a_file_that_keeps_appearing_and_vanishing_ends_in_a_refusal(
        registry, workspace, monkeypatch):
    workspace.mkdir()
    walk = safe_paths.Workspace.walk
    walks = []

    def walk_then_flicker(self, path: str, **options):
        target = workspace / "out.txt"
        target.unlink(missing_ok=True)
        opened = walk(self, path, **options)
        walks.append(path)
        target.write_text("other")
        return opened

    monkeypatch.setattr(safe_paths.Workspace, "walk", walk_then_flicker)
    with pytest.raises(ToolInputError, match="keeps changing") as caught:
        call(registry, "files.write", path="out.txt", text="x")
    assert caught.value.code == "file_exists"
    assert 1 < len(walks) <= 20
    assert (workspace / "out.txt").read_text() == "other"


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_directory_swapped_for_a_symlink_after_the_walk_is_not_written_through(
        registry, workspace, tmp_path, monkeypatch, overwrite):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    call(registry, "files.write", path="dir/old.txt", text="inside")
    walk = safe_paths.Workspace.walk

    def walk_then_swap(self, path: str, **options):
        opened = walk(self, path, **options)
        (workspace / "dir").rename(workspace / "dir.moved")
        (workspace / "dir").symlink_to(outside, target_is_directory=True)
        return opened

    monkeypatch.setattr(safe_paths.Workspace, "walk", walk_then_swap)
    call(registry, "files.write", path="dir/new.txt", text="late", overwrite=overwrite)
    assert list(outside.iterdir()) == []
    assert (workspace / "dir.moved" / "new.txt").read_text() == "late"


def test_a_file_appearing_while_its_directory_is_swapped_out_is_checked_by_a_new_walk(
        registry, workspace, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    call(registry, "files.write", path="dir/old.txt", text="inside")
    walk = safe_paths.Workspace.walk

    def walk_then_swap(self, path: str, **options):
        opened = walk(self, path, **options)
        if not (workspace / "dir.moved").exists():
            (workspace / "dir" / "new.txt").write_text("first")
            (workspace / "dir").rename(workspace / "dir.moved")
            (workspace / "dir").symlink_to(outside, target_is_directory=True)
        return opened

    monkeypatch.setattr(safe_paths.Workspace, "walk", walk_then_swap)
    with pytest.raises(ToolInputError, match="outside the workspace through a symlink"):
        call(registry, "files.write", path="dir/new.txt", text="late")
    assert list(outside.iterdir()) == []
    assert (workspace / "dir.moved" / "new.txt").read_text() == "first"


def test_publishing_without_replacing_leaves_what_is_there_and_no_temp_file(
        tmp_path, publish_by):
    (tmp_path / "out.txt").write_text("first")
    (tmp_path / "link").symlink_to("nowhere")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in ("out.txt", "link"):
            with pytest.raises(FileExistsError):
                safe_paths.create_atomically(fd, name, b"second")
        safe_paths.create_atomically(fd, "new.txt", b"new")
    finally:
        os.close(fd)
    assert (tmp_path / "out.txt").read_text() == "first"
    assert os.readlink(tmp_path / "link") == "nowhere"
    assert (tmp_path / "new.txt").read_text() == "new"
    assert (tmp_path / "new.txt").stat().st_nlink == 1
    assert temp_files(tmp_path) == []


def test_two_writers_at_once_never_both_succeed_with_different_content(workspace):
    workspace.mkdir()
    for round_ in range(100):
        barrier = threading.Barrier(2)
        results: dict[str, str] = {}

        def write(tag: str, name: str = f"f{round_}.txt") -> None:
            barrier.wait()
            try:
                write_text(workspace, name, tag * 1000, False)
                results[tag] = "ok"
            except ToolInputError as exc:
                results[tag] = exc.code

        threads = [threading.Thread(target=write, args=(tag,)) for tag in "AB"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results.values()) == ["file_exists", "ok"], round_
        winner = next(tag for tag, result in results.items() if result == "ok")
        assert (workspace / f"f{round_}.txt").read_text() == winner * 1000


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_a_new_file_gets_the_mode_a_plain_open_gives(registry, workspace, umask, mask):
    os.umask(mask)
    call(registry, "files.write", path="sub/new.txt", text="x")
    assert mode(workspace / "sub" / "new.txt") == 0o666 & ~mask


@pytest.mark.parametrize("bits", [0o644, 0o640, 0o664, 0o444])
def test_an_overwritten_file_keeps_its_permission_bits(registry, workspace, umask, bits):
    workspace.mkdir()
    (workspace / "a.txt").write_text("old")
    os.chmod(workspace / "a.txt", bits)
    call(registry, "files.write", path="a.txt", text="new", overwrite=True)
    assert (workspace / "a.txt").read_text() == "new"
    assert mode(workspace / "a.txt") == bits


def test_setuid_and_setgid_bits_are_not_carried_to_new_content(registry, workspace, umask):
    workspace.mkdir()
    (workspace / "run.sh").write_text("old")
    os.chmod(workspace / "run.sh", 0o6755)
    call(registry, "files.write", path="run.sh", text="new", overwrite=True)
    assert mode(workspace / "run.sh") == 0o755


def test_a_write_through_a_symlink_inside_keeps_the_target_file_bits(registry, workspace, umask):
    workspace.mkdir()
    (workspace / "target.txt").write_text("old")
    os.chmod(workspace / "target.txt", 0o640)
    (workspace / "link.txt").symlink_to("target.txt")
    call(registry, "files.write", path="link.txt", text="new", overwrite=True)
    assert (workspace / "target.txt").read_text() == "new"
    assert mode(workspace / "target.txt") == 0o640
    assert (workspace / "link.txt").is_symlink()
