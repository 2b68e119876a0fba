"""A token revoked in the same second it was added is refused by a running server.

Where the file system keeps whole seconds (ext4 with 128-byte inodes, some network and FAT
file systems), replacing a token by another (the same size) within the second of the last
edit left the file's stat unchanged: the server never read the file again, and the revoked
token kept working until some later edit. The file's marks digest its contents while its
times are that recent (``tools.file_marks``).

The file system's coarse clock is played by a stat that reports one whole second for the
settings file's times, and the moment each mark is taken by a fixed clock.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import baton.settings as settings_module
import tools.file_marks as file_marks
from baton.api.auth import user_for_token
from baton.services import Services
from baton.settings import hash_token, load_settings, user_toml
from baton.settings_reload import LiveSettings

SECOND = 1_700_000_000 * 1_000_000_000


def settings_text(root: Path, bob_token: str) -> str:
    """A settings file whose bob holds ``bob_token`` (every such text is the same size)."""
    return (f"data_dir = {json.dumps(str(root / 'data'))}\n"
            + user_toml("bob", ["approver"], [hash_token(bob_token)])
            + user_toml("alice", ["analyst"], [hash_token("tok-alice")]))


def overwrite(path: Path, text: str) -> None:
    """Write ``text`` over the file in place (same inode, same size)."""
    with open(path, "r+", encoding="utf-8") as file:
        file.write(text)
        file.truncate()


class CoarseClock:
    """Times of ``path`` that all read one whole second; marks taken at ``at_ns``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
        self.path = os.fspath(path)
        self.at_ns = SECOND + 300_000_000
        real_stat = os.stat

        def stat(target, *args, **kwargs):
            found = real_stat(target, *args, **kwargs)
            if os.fspath(target) != self.path:
                return found
            whole = SECOND // 1_000_000_000
            return os.stat_result((*found[:7], whole, whole, whole), {
                "st_atime": float(whole), "st_mtime": float(whole), "st_ctime": float(whole),
                "st_atime_ns": SECOND, "st_mtime_ns": SECOND, "st_ctime_ns": SECOND})

        monkeypatch.setattr(os, "stat", stat)
        monkeypatch.setattr(file_marks, "time_ns", lambda: self.at_ns)


@pytest.fixture
def settings_file(tmp_path, monkeypatch):
    path = tmp_path / "baton.toml"
    path.write_text(settings_text(tmp_path, "tok-bob-A"), encoding="utf-8")
    return path, CoarseClock(monkeypatch, path)


def test_a_token_replaced_within_the_second_is_refused_at_once(settings_file, tmp_path):
    path, _ = settings_file
    services = Services(load_settings(path, environ={}))
    assert user_for_token(services, "tok-bob-A").id == "bob"
    overwrite(path, settings_text(tmp_path, "tok-bob-B"))
    assert user_for_token(services, "tok-bob-A") is None
    assert user_for_token(services, "tok-bob-B").id == "bob"
    overwrite(path, settings_text(tmp_path, "tok-bob-C"))  # and again, the same second
    assert user_for_token(services, "tok-bob-B") is None
    assert user_for_token(services, "tok-bob-C").id == "bob"


def test_the_file_is_read_once_more_when_it_becomes_old_then_no_more(settings_file, tmp_path,
                                                                      monkeypatch):
    path, clock = settings_file
    live = LiveSettings(load_settings(path, environ={}))
    reads: list[Path] = []
    read_settings = settings_module.read_settings

    def counted(*args, **kwargs):
        reads.append(args[0])
        return read_settings(*args, **kwargs)

    monkeypatch.setattr(settings_module, "read_settings", counted)
    for _ in range(3):  # recent and unchanged: its digest holds, nothing is read again
        assert live.now().user_for_token("tok-bob-A").id == "bob"
    assert reads == []
    clock.at_ns = SECOND + 60 * 1_000_000_000
    for _ in range(3):
        assert live.now().user_for_token("tok-bob-A").id == "bob"
    assert reads == [path.absolute()]  # once, when the stat alone came to tell
