"""``baton audit export --out``: the target is replaced only by a complete export, never the database.

The file used to be opened for writing (emptied) before the ledger was read: ``--out`` at the
database wiped it, and a broken ledger left a previous good export cut short.
"""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

DATABASE = ".baton/baton.db"


def _events(cli) -> int:
    verified = cli("audit", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    return json.loads(verified.stdout)["events"]


def _break_event(seq: int) -> None:
    with sqlite3.connect(DATABASE) as db:
        db.execute("update ledger set payload = 'not json' where seq = ?", (seq,))


@pytest.mark.parametrize("target", [DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm",
                                    ".baton/audit.jsonl", "./.baton/../.baton/baton.db"])
def test_an_out_that_is_the_database_or_lies_under_data_dir_is_refused(cli, plan_id, target):
    before = _events(cli)
    existed = os.path.exists(target)
    done = cli("audit", "export", "--out", target)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "--out" in done.stderr and target.removeprefix("./") in done.stderr, done.stderr
    assert "database" in done.stderr or "data_dir" in done.stderr, done.stderr
    assert "exported" not in done.stderr
    assert os.path.exists(target) == existed  # neither made nor removed
    assert _events(cli) == before  # the ledger is whole


def test_an_out_linked_to_the_database_is_refused(cli, plan_id):
    os.symlink(DATABASE, "audit.jsonl")
    before = _events(cli)
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 2 and "database" in done.stderr, done.stderr
    assert _events(cli) == before


def test_a_failed_export_leaves_the_previous_export_whole_and_no_temporary_file(cli, plan_id):
    good = cli("audit", "export", "--out", "audit.jsonl")
    assert good.returncode == 0, good.stderr
    previous = open("audit.jsonl", encoding="utf-8").read()
    assert len(previous.splitlines()) >= 3
    _break_event(3)
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert open("audit.jsonl", encoding="utf-8").read() == previous
    assert sorted(os.listdir(".")) == sorted([".baton", "audit.jsonl", "baton.toml", "template.yaml",
                                              "write.json", "ws"])


def test_a_successful_export_replaces_the_file_and_keeps_its_mode(cli, plan_id):
    with open("audit.jsonl", "w", encoding="utf-8") as old:
        old.write("stale\n" * 1000)
    os.chmod("audit.jsonl", 0o640)
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 0, done.stderr
    lines = open("audit.jsonl", encoding="utf-8").read().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert f"exported {len(lines)} events" in done.stderr
    assert os.stat("audit.jsonl").st_mode & 0o777 == 0o640
    assert not [name for name in os.listdir(".") if name.startswith(".audit.jsonl")]


def test_an_export_through_a_link_writes_the_file_it_names(cli, plan_id):
    os.mkdir("exports")
    os.symlink("exports/audit.jsonl", "latest.jsonl")
    done = cli("audit", "export", "--out", "latest.jsonl")
    assert done.returncode == 0, done.stderr
    assert os.path.islink("latest.jsonl")
    assert open("exports/audit.jsonl", encoding="utf-8").read().count("\n") >= 3


def _no_files_may_be_created_beside(monkeypatch, target: str) -> str:
    """As for an auditor who may write ``target`` but not create files in its directory."""
    import tempfile

    from baton.cli import export_file

    directory = os.path.realpath(os.path.dirname(os.path.abspath(target)))
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and os.path.realpath(dir) == directory:
            raise PermissionError(13, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(export_file.tempfile, "mkstemp", mkstemp)
    return "Permission denied"


def _target_may_not_be_replaced(monkeypatch, target: str) -> str:
    """As for another user's file in a sticky directory (mode 1777, like /tmp): a temporary
    file may be made beside it, and the file written, but not replaced (EPERM)."""
    from baton.cli import export_file

    refused = os.path.realpath(target)
    real_replace = os.replace

    def replace(source, destination):
        if os.path.realpath(destination) == refused:
            raise PermissionError(1, "Operation not permitted", str(destination))
        return real_replace(source, destination)

    monkeypatch.setattr(export_file.os, "replace", replace)
    return "Operation not permitted"


# Where the export may write FILE but not put a new file in its place: it was thrown away
# with "Permission denied" though the file itself could be written.
OBSTACLES = pytest.mark.parametrize("obstacle", [_no_files_may_be_created_beside,
                                                 _target_may_not_be_replaced],
                                    ids=["no-new-files", "sticky"])


def _temporary_files() -> list[str]:
    return [name for name in os.listdir(".") if name.endswith(".tmp")]


@OBSTACLES
def test_a_file_that_may_be_written_but_not_replaced_is_rewritten_in_place(cli, plan_id,
                                                                           monkeypatch, obstacle):
    with open("audit.jsonl", "w", encoding="utf-8") as old:
        old.write("stale\n" * 1000)
    inode = os.stat("audit.jsonl").st_ino
    obstacle(monkeypatch, "audit.jsonl")
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 0, done.stderr
    lines = open("audit.jsonl", encoding="utf-8").read().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert os.stat("audit.jsonl").st_ino == inode  # the same file, its owner and mode kept
    assert _temporary_files() == []


@OBSTACLES
def test_a_failed_export_to_such_a_file_leaves_it_whole(cli, plan_id, monkeypatch, obstacle):
    good = cli("audit", "export", "--out", "audit.jsonl")
    assert good.returncode == 0, good.stderr
    previous = open("audit.jsonl", encoding="utf-8").read()
    obstacle(monkeypatch, "audit.jsonl")
    _break_event(3)
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert open("audit.jsonl", encoding="utf-8").read() == previous
    assert _temporary_files() == []


@OBSTACLES
def test_a_new_file_there_is_a_one_line_error(cli, plan_id, monkeypatch, obstacle):
    message = obstacle(monkeypatch, "audit.jsonl")
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not os.path.exists("audit.jsonl") and _temporary_files() == []
