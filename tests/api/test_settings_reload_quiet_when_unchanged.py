"""An unchanged settings file read once more says nothing; an edit of its users is logged.

A file's mark holds its contents' digest while its times are recent (``tools.file_marks``),
so the first mark after that window differs from the last one inside it and the file is
read once more, unchanged. That read used to log "users read again from the settings file"
as if it had been edited: noise in every server's log, and one extra line on the stderr of a
`baton serve` that started slowly (a flaky one-line-error test).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

import tools.file_marks as file_marks
from baton.settings import hash_token, load_settings, user_toml
from baton.settings_reload import LiveSettings

RELOADED = "users read again from the settings file"


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "baton.toml"
    path.write_text(user_toml("alice", ["analyst"], [hash_token("tok-alice")]))
    return path


def test_leaving_the_racy_window_rereads_the_file_without_logging_a_change(
        settings_file, monkeypatch):
    live = LiveSettings(load_settings(settings_file))
    monkeypatch.setattr(file_marks, "RACY_WINDOW_NS", -10**18)  # the file is now "old"
    with capture_logs() as logs:
        assert set(live.now().users) == {"alice"}
    assert [e for e in logs if e["event"] == RELOADED] == [], logs


def test_an_edit_of_the_users_is_logged_naming_them(settings_file, monkeypatch):
    live = LiveSettings(load_settings(settings_file))
    settings_file.write_text(settings_file.read_text()
                             + user_toml("bob", ["approver"], [hash_token("tok-bob")]))
    with capture_logs() as logs:
        assert set(live.now().users) == {"alice", "bob"}
    [event] = [e for e in logs if e["event"] == RELOADED]
    assert event["users"] == ["alice", "bob"]
