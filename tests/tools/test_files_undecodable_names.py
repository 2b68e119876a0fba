"""files.* with file names that are not UTF-8, and with backslashes in names.

Linux names are bytes. A name that is not UTF-8 reaches Python as a lone surrogate
(``os.fsdecode``), which no plan, output or ledger can hold. The files tools write every
path as text the same way: a name that is UTF-8 without a backslash as it is; otherwise each
backslash doubled and each byte that is not UTF-8 as ``\\xNN`` (``path_encoding: "escaped"``).
Every path and pattern the tools are given is read back by the same rule, so a listed path
names the same file when passed back, and no other spelling of it is accepted.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.tools.test_files_tools import call
from tools import ToolInputError

RESUME = b"r\xe9sum\xe9.csv"  # Latin-1 bytes: not UTF-8
RESUME_TEXT = "r\\xe9sum\\xe9.csv"  # how the files tools write it


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    return tmp_path / "ws"




def make_file(directory: Path, name: bytes, data: bytes = b"") -> None:
    """A file whose name is exactly ``name`` (bytes: it need not be UTF-8)."""
    fd = os.open(os.fsencode(directory) + b"/" + name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def names_in(directory: Path) -> set[bytes]:
    return set(os.listdir(os.fsencode(directory)))


def utf8_only(value) -> bool:
    """Whether every text in ``value`` encodes as UTF-8 (so the executor can store it)."""
    if isinstance(value, dict):
        return all(utf8_only(k) and utf8_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(utf8_only(v) for v in value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


def test_list_escapes_a_name_that_is_not_utf8_and_flags_it(registry, workspace):
    make_file(workspace, RESUME, b"a,b\n")
    make_file(workspace, "café.csv".encode(), b"x")
    out = call(registry, "files.list")
    assert out["entries"] == [
        {"path": "café.csv", "path_encoding": "utf-8", "size": 1, "is_dir": False},
        {"path": RESUME_TEXT, "path_encoding": "escaped", "size": 4, "is_dir": False},
    ]
    assert utf8_only(out)


def test_the_listing_schema_declares_the_encoding_flag(registry):
    schema = registry.get("files.list").output_schema()
    entry = schema["$defs"]["FileEntry"]
    assert entry["properties"]["path_encoding"]["enum"] == ["utf-8", "escaped"]
    assert "\\xNN" in entry["properties"]["path_encoding"]["description"]
    for tool in ("files.read", "files.write"):
        assert "path_encoding" in registry.get(tool).output_schema()["properties"]


def test_a_listed_escaped_path_reads_that_file(registry, workspace):
    make_file(workspace, RESUME, b"a,b\n")
    (listed,) = call(registry, "files.list")["entries"]
    read = call(registry, "files.read", path=listed["path"])
    assert read["text"] == "a,b\n"
    assert (read["path"], read["path_encoding"]) == (RESUME_TEXT, "escaped")


def test_a_literal_backslash_is_doubled_so_no_two_names_list_alike(registry, workspace):
    """``r\\xe9.csv`` spelled with a real backslash is a different file from byte 0xE9."""
    make_file(workspace, b"r\\xe9.csv", b"literal")
    make_file(workspace, b"r\xe9.csv", b"byte")
    make_file(workspace, b"plain.csv", b"plain")
    entries = call(registry, "files.list")["entries"]
    assert [(e["path"], e["path_encoding"]) for e in entries] == [
        ("plain.csv", "utf-8"), ("r\\\\xe9.csv", "escaped"), ("r\\xe9.csv", "escaped")]
    assert [call(registry, "files.read", path=e["path"])["text"] for e in entries] == [
        "plain", "literal", "byte"]


def test_a_directory_that_is_not_utf8_can_be_listed_read_and_written_into(registry, workspace):
    os.mkdir(os.fsencode(workspace) + b"/d\xff")
    make_file(workspace / "d\udcff", b"in.txt", b"inside")
    deep = call(registry, "files.list", pattern="**/*")["entries"]
    assert [(e["path"], e["path_encoding"], e["is_dir"]) for e in deep] == [
        ("d\\xff", "escaped", True), ("d\\xff/in.txt", "escaped", False)]
    assert call(registry, "files.list", path="d\\xff")["entries"] == [
        {"path": "d\\xff/in.txt", "path_encoding": "escaped", "size": 6, "is_dir": False}]
    assert call(registry, "files.read", path="d\\xff/in.txt")["text"] == "inside"
    written = call(registry, "files.write", path="d\\xff/new\\xfe.txt", text="new")
    assert (written["path"], written["path_encoding"]) == ("d\\xff/new\\xfe.txt", "escaped")
    assert names_in(workspace / "d\udcff") == {b"in.txt", b"new\xfe.txt"}


def test_a_pattern_is_read_with_the_same_escapes(registry, workspace):
    make_file(workspace, RESUME)
    make_file(workspace, b"r\\x.csv")
    make_file(workspace, b"report.csv")
    assert [e["path"] for e in call(registry, "files.list", pattern="r\\xe9*")["entries"]] == [
        RESUME_TEXT]
    assert [e["path"] for e in call(registry, "files.list", pattern="r\\\\*")["entries"]] == [
        "r\\\\x.csv"]


@pytest.mark.parametrize(("path", "why"), [
    ("r\\xE9sum\\xE9.csv", "write 'r\\\\xe9sum\\\\xe9.csv'"),  # upper-case hex: not as listed
    ("caf\\xc3\\xa9.csv", "write 'café.csv'"),  # bytes that are UTF-8 are written as text
    ("\\x41.csv", "write 'A.csv'"),
    ("a\\b.csv", "backslash"),
    ("trailing\\", "backslash"),
    ("bad\\xZZ.csv", "backslash"),
])
@pytest.mark.parametrize("tool", ["files.read", "files.write", "files.list"])
def test_a_path_not_written_as_files_list_writes_it_is_refused(registry, workspace, tool, path,
                                                                 why):
    make_file(workspace, RESUME, b"a,b\n")
    make_file(workspace, "café.csv".encode(), b"x")
    make_file(workspace, b"A.csv", b"x")
    make_file(workspace, b"a\\b.csv", b"x")
    before = names_in(workspace)
    args = {"path": path, "text": "pwned", "overwrite": True} if tool == "files.write" \
        else {"path": path}
    with pytest.raises(ToolInputError, match="escape") as caught:
        call(registry, tool, **args)
    assert caught.value.code == "path_refused" and why in str(caught.value)
    assert repr(path) in str(caught.value)
    assert names_in(workspace) == before


@pytest.mark.parametrize("path", ["\\x2e\\x2e/outside.txt", "sub\\x2f..\\x2f..\\x2foutside.txt",
                                  "\\x2foutside.txt", "a\\x00b"])
@pytest.mark.parametrize("tool", ["files.read", "files.write", "files.list"])
def test_an_escape_cannot_spell_dot_dot_a_slash_or_a_nul(registry, workspace, tmp_path, tool,
                                                         path):
    (tmp_path / "outside.txt").write_text("secret")
    args = {"path": path, "text": "pwned", "overwrite": True} if tool == "files.write" \
        else {"path": path}
    with pytest.raises(ToolInputError) as caught:
        call(registry, tool, **args)
    assert caught.value.code == "path_refused"
    assert (tmp_path / "outside.txt").read_text() == "secret"
    assert names_in(workspace) == set()


def test_a_pattern_not_written_as_listed_is_refused(registry):
    pattern = "r\\xE9*"
    with pytest.raises(ToolInputError, match=re.escape(f"pattern {pattern!r}")) as caught:
        call(registry, "files.list", pattern=pattern)
    assert caught.value.code == "path_refused"


def test_a_symlink_to_a_name_that_is_not_utf8_reports_the_escaped_target(registry, workspace):
    make_file(workspace, RESUME, b"a,b\n")
    os.symlink(RESUME, os.fsencode(workspace) + b"/link.csv")
    read = call(registry, "files.read", path="link.csv")
    assert (read["path"], read["path_encoding"], read["text"]) == (RESUME_TEXT, "escaped", "a,b\n")
    assert {e["path"]: e["size"] for e in call(registry, "files.list")["entries"]} == {
        "link.csv": 4, RESUME_TEXT: 4}


def test_symlinks_that_are_not_utf8_and_lead_outside_stay_refused(registry, workspace, tmp_path):
    outside = os.fsencode(tmp_path) + b"/out\xfe.txt"
    make_file(tmp_path, b"out\xfe.txt", b"secret")
    os.symlink(outside, os.fsencode(workspace) + b"/abs\xff")
    os.symlink(b"../out\xfe.txt", os.fsencode(workspace) + b"/rel\xff")
    assert call(registry, "files.list")["entries"] == []
    escapes = "outside the workspace through a symlink"
    for name in ("abs\\xff", "rel\\xff"):
        with pytest.raises(ToolInputError, match=escapes) as caught:
            call(registry, "files.read", path=name)
        assert repr(name) in str(caught.value) and utf8_only(str(caught.value))
        with pytest.raises(ToolInputError, match=escapes):
            call(registry, "files.write", path=name, text="pwned", overwrite=True)
    assert (tmp_path / "out\udcfe.txt").read_bytes() == b"secret"


def test_errors_name_the_path_as_given_never_a_lone_surrogate(registry, workspace):
    with pytest.raises(ToolInputError) as caught:
        call(registry, "files.read", path="missing\\xff.txt")
    assert "'missing\\\\xff.txt'" in str(caught.value) and utf8_only(str(caught.value))
    os.mkdir(os.fsencode(workspace) + b"/d\xff")
    with pytest.raises(ToolInputError, match="directory") as caught:
        call(registry, "files.read", path="d\\xff")
    assert utf8_only(str(caught.value))
