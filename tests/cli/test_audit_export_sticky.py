"""``baton audit export --out`` naming another user's file in a sticky directory (mode 1777,
like /tmp): a temporary file may be made beside it, and the file written, but it may not be
replaced (EPERM). The whole export is then copied over it, and a failed one leaves it whole."""

from __future__ import annotations

import json
import os

from tests.cli.test_audit_export_out import _break_event


def _target_may_not_be_replaced(monkeypatch, target: str) -> None:
    from baton.cli import export_file

    refused = os.path.realpath(target)
    real_replace = os.replace

    def replace(source, destination):
        if os.path.realpath(destination) == refused:
            raise PermissionError(1, "Operation not permitted", str(destination))
        return real_replace(source, destination)

    monkeypatch.setattr(export_file.os, "replace", replace)


def _temporary_files() -> list[str]:
    return [name for name in os.listdir(".") if name.endswith(".tmp")]


def test_a_file_that_may_not_be_replaced_is_rewritten_in_place(cli, plan_id, monkeypatch):
    with open("audit.jsonl", "w", encoding="utf-8") as old:
        old.write("stale\n" * 1000)
    inode = os.stat("audit.jsonl").st_ino
    _target_may_not_be_replaced(monkeypatch, "audit.jsonl")
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 0, done.stderr
    lines = open("audit.jsonl", encoding="utf-8").read().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert os.stat("audit.jsonl").st_ino == inode  # the same file, its owner and mode kept
    assert _temporary_files() == []


def test_a_failed_export_to_such_a_file_leaves_it_whole(cli, plan_id, monkeypatch):
    good = cli("audit", "export", "--out", "audit.jsonl")
    assert good.returncode == 0, good.stderr
    previous = open("audit.jsonl", encoding="utf-8").read()
    _target_may_not_be_replaced(monkeypatch, "audit.jsonl")
    _break_event(3)
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert open("audit.jsonl", encoding="utf-8").read() == previous
    assert _temporary_files() == []


def test_a_new_file_that_may_not_be_put_in_place_is_a_one_line_error(cli, plan_id,
                                                                     monkeypatch):
    _target_may_not_be_replaced(monkeypatch, "audit.jsonl")
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Operation not permitted" in done.stderr and "Traceback" not in done.stderr
    assert not os.path.exists("audit.jsonl") and _temporary_files() == []
