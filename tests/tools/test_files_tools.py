"""files.read / files.write / files.list, confined to a temp workspace."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from tools import Effect, ToolContext, ToolInputError, ToolRegistry


def call(registry: ToolRegistry, tool: str, **args) -> dict:
    return asyncio.run(registry.get(tool).invoke(args, ToolContext(idempotency_key="k")))


def test_write_creates_the_workspace_and_read_returns_the_text(registry, workspace):
    assert not workspace.exists()
    written = call(registry, "files.write", path="reports/total.txt", text="héllo\n")
    data = "héllo\n".encode()
    assert written == {"path": "reports/total.txt", "path_encoding": "utf-8", "bytes": len(data),
                       "sha256": hashlib.sha256(data).hexdigest()}
    assert (workspace / "reports" / "total.txt").read_bytes() == data
    read = call(registry, "files.read", path="reports/total.txt")
    assert read["text"] == "héllo\n" and read["sha256"] == written["sha256"]


def test_write_refuses_to_replace_other_content_without_overwrite(registry, workspace):
    call(registry, "files.write", path="a.txt", text="one")
    with pytest.raises(ToolInputError, match="overwrite"):
        call(registry, "files.write", path="a.txt", text="two")
    assert (workspace / "a.txt").read_text() == "one"
    call(registry, "files.write", path="a.txt", text="two", overwrite=True)
    assert (workspace / "a.txt").read_text() == "two"


def test_rewriting_the_same_content_succeeds_so_a_retry_is_safe(registry):
    first = call(registry, "files.write", path="a.txt", text="same")
    assert call(registry, "files.write", path="a.txt", text="same") == first
    spec = registry.get("files.write")
    assert spec.idempotent and spec.effect_of({}) is Effect.WRITE


def test_list_matches_a_glob_sorted(registry, workspace):
    for name in ("b.csv", "a.csv", "notes.txt", "sub/c.csv"):
        call(registry, "files.write", path=name, text="x" * len(name))
    out = call(registry, "files.list", pattern="*.csv")
    assert out["entries"] == [
        {"path": "a.csv", "path_encoding": "utf-8", "size": 5, "is_dir": False},
        {"path": "b.csv", "path_encoding": "utf-8", "size": 5, "is_dir": False}]
    deep = [e["path"] for e in call(registry, "files.list", pattern="**/*.csv")["entries"]]
    assert deep == ["a.csv", "b.csv", "sub/c.csv"]
    top = call(registry, "files.list")["entries"]
    assert {"path": "sub", "path_encoding": "utf-8", "size": 0, "is_dir": True} in top


def test_list_of_a_missing_workspace_is_empty(registry):
    assert call(registry, "files.list") == {"entries": []}


def test_reading_a_missing_file_names_it(registry):
    with pytest.raises(ToolInputError, match="'nope.txt'"):
        call(registry, "files.read", path="nope.txt")


def test_reading_binary_is_refused(registry, workspace):
    workspace.mkdir()
    (workspace / "img.bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ToolInputError, match="not UTF-8"):
        call(registry, "files.read", path="img.bin")


@pytest.mark.parametrize("path", ["../outside.txt", "sub/../../outside.txt", "..", "a/.."])
@pytest.mark.parametrize("tool", ["files.read", "files.write", "files.list"])
def test_dot_dot_is_refused(registry, tool, path, tmp_path):
    (tmp_path / "outside.txt").write_text("secret")
    args = {"path": path, "text": "x"} if tool == "files.write" else {"path": path}
    with pytest.raises(ToolInputError, match="'..'") as caught:
        call(registry, tool, **args)
    assert repr(path) in str(caught.value)
    assert (tmp_path / "outside.txt").read_text() == "secret"


@pytest.mark.parametrize("tool", ["files.read", "files.write", "files.list"])
def test_absolute_path_is_refused(registry, tool, tmp_path):
    target = str(tmp_path / "abs.txt")
    args = {"path": target, "text": "x"} if tool == "files.write" else {"path": target}
    with pytest.raises(ToolInputError, match="absolute"):
        call(registry, tool, **args)
    assert not Path(target).exists()


def test_symlinked_file_pointing_outside_is_refused(registry, workspace, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    workspace.mkdir()
    (workspace / "link.txt").symlink_to(outside)
    with pytest.raises(ToolInputError, match="symlink"):
        call(registry, "files.read", path="link.txt")
    with pytest.raises(ToolInputError, match="symlink"):
        call(registry, "files.write", path="link.txt", text="pwned", overwrite=True)
    assert outside.read_text() == "secret"


def test_symlinked_directory_pointing_outside_is_refused(registry, workspace, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "data.txt").write_text("secret")
    workspace.mkdir()
    (workspace / "dir").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ToolInputError, match="symlink"):
        call(registry, "files.read", path="dir/data.txt")
    with pytest.raises(ToolInputError, match="symlink"):
        call(registry, "files.write", path="dir/new.txt", text="pwned")
    with pytest.raises(ToolInputError, match="symlink"):
        call(registry, "files.list", path="dir")
    assert not (outside / "new.txt").exists()
    listed = [e["path"] for e in call(registry, "files.list", pattern="**/*")["entries"]]
    assert not any("data.txt" in p for p in listed)


def test_symlink_inside_the_workspace_is_followed(registry, workspace):
    call(registry, "files.write", path="real/data.txt", text="ok")
    (workspace / "alias").symlink_to(workspace / "real", target_is_directory=True)
    assert call(registry, "files.read", path="alias/data.txt")["text"] == "ok"


def test_bad_glob_pattern_is_refused(registry):
    with pytest.raises(ToolInputError, match="pattern"):
        call(registry, "files.list", pattern="../*")


def swap_after_validation(monkeypatch, swap) -> None:
    """Run ``swap`` right after the path passed the '..'/absolute check, before any open."""
    from tools.builtin import safe_paths

    validate = safe_paths.relative_parts

    def validate_then_swap(path: str) -> tuple[str, ...]:
        parts = validate(path)
        swap()
        return parts

    monkeypatch.setattr(safe_paths, "relative_parts", validate_then_swap)


def replace_dir_with_link(directory: Path, target: Path) -> None:
    directory.rename(directory.with_name(directory.name + ".moved"))
    directory.symlink_to(target, target_is_directory=True)


def test_directory_swapped_for_an_outside_symlink_after_the_check_is_refused(
        registry, workspace, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "data.txt").write_text("secret")
    call(registry, "files.write", path="dir/data.txt", text="inside")
    swap_after_validation(monkeypatch, lambda: replace_dir_with_link(workspace / "dir", outside))
    with pytest.raises(ToolInputError, match="outside the workspace through a symlink"):
        call(registry, "files.read", path="dir/data.txt")


@pytest.mark.parametrize("tool", ["files.write", "files.list"])
def test_write_and_list_refuse_a_directory_swapped_for_an_outside_symlink(
        registry, workspace, tmp_path, monkeypatch, tool):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    call(registry, "files.write", path="dir/data.txt", text="inside")
    swap_after_validation(monkeypatch, lambda: replace_dir_with_link(workspace / "dir", outside))
    args = {"path": "dir/new.txt", "text": "pwned"} if tool == "files.write" else {"path": "dir"}
    with pytest.raises(ToolInputError, match="outside the workspace through a symlink"):
        call(registry, tool, **args)
    assert list(outside.iterdir()) == []


def test_file_swapped_for_an_outside_symlink_is_not_written_through(
        registry, workspace, tmp_path, monkeypatch):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    call(registry, "files.write", path="a.txt", text="inside")

    def swap() -> None:
        (workspace / "a.txt").unlink()
        (workspace / "a.txt").symlink_to(outside)

    swap_after_validation(monkeypatch, swap)
    with pytest.raises(ToolInputError, match="outside the workspace through a symlink"):
        call(registry, "files.write", path="a.txt", text="pwned", overwrite=True)
    assert outside.read_text() == "secret"


def test_swap_after_the_walk_writes_into_the_directory_already_opened(
        registry, workspace, tmp_path, monkeypatch):
    from tools.builtin import files

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    call(registry, "files.write", path="dir/old.txt", text="inside")
    create = files.create_atomically  # a new file: published without replacing anything

    def swap_then_create(dir_fd: int, name: str, data: bytes) -> None:
        replace_dir_with_link(workspace / "dir", outside)
        create(dir_fd, name, data)

    monkeypatch.setattr(files, "create_atomically", swap_then_create)
    call(registry, "files.write", path="dir/new.txt", text="late")
    assert list(outside.iterdir()) == []
    assert (workspace / "dir.moved" / "new.txt").read_text() == "late"


def test_relative_symlink_climbing_out_is_refused(registry, workspace, tmp_path):
    (tmp_path / "outside.txt").write_text("secret")
    call(registry, "files.write", path="sub/keep.txt", text="x")
    (workspace / "sub" / "esc.txt").symlink_to("../../outside.txt")
    (workspace / "sub" / "ok.txt").symlink_to("../sub/./keep.txt")
    with pytest.raises(ToolInputError, match="outside the workspace through a symlink"):
        call(registry, "files.read", path="sub/esc.txt")
    read = call(registry, "files.read", path="sub/ok.txt")
    assert read["text"] == "x" and read["path"] == "sub/keep.txt"


def test_symlink_loop_is_refused(registry, workspace):
    workspace.mkdir()
    (workspace / "a").symlink_to("b")
    (workspace / "b").symlink_to("a")
    with pytest.raises(ToolInputError, match="too many levels of symlinks"):
        call(registry, "files.read", path="a")


def test_list_shows_inside_symlinks_but_does_not_descend_into_symlinked_directories(
        registry, workspace, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    call(registry, "files.write", path="real/data.txt", text="ok")
    (workspace / "alias").symlink_to("real", target_is_directory=True)
    (workspace / "out").symlink_to(outside, target_is_directory=True)
    (workspace / "file-link").symlink_to("real/data.txt")
    listed = call(registry, "files.list", pattern="**/*")["entries"]
    assert listed == [
        {"path": "alias", "path_encoding": "utf-8", "size": 0, "is_dir": True},
        {"path": "file-link", "path_encoding": "utf-8", "size": 2, "is_dir": False},
        {"path": "real", "path_encoding": "utf-8", "size": 0, "is_dir": True},
        {"path": "real/data.txt", "path_encoding": "utf-8", "size": 2, "is_dir": False}]
