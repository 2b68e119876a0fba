"""What a read of the settings file has to say is logged once per edit, not once per read.

The file is read once more, unchanged, when it leaves the window in which its marks digest
its contents (``tools.file_marks``): ``baton serve`` logged ``settings file invalid`` again
about 3 s after the edit that broke the file, and so the warnings that settings or roles
take effect on restart. An edit after that (another content) is news, and is logged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

import tools.file_marks as file_marks
from baton.settings import hash_token, load_settings, user_toml
from baton.settings_reload import LiveSettings, SettingsFileError

INVALID = "settings file invalid: tokens and approvals are refused until it is fixed"
RESTART = "settings changed in the file take effect on restart"
ROLES = "roles changed in the policy data take effect on restart"
USERS = user_toml("alice", ["analyst"], [hash_token("tok-alice")])
FINANCE = ('[policy.data.approval]\nroles = ["approver", "admin", "finance"]\n'
           'two_person_risk = 60\n'
           + user_toml("fay", ["finance"], [hash_token("tok-fay")]))


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "baton.toml"
    path.write_text(USERS)
    return path


def _leave_the_racy_window(monkeypatch) -> None:
    monkeypatch.setattr(file_marks, "RACY_WINDOW_NS", -10**18)  # every file is now "old"


def _read(live: LiveSettings) -> None:
    try:
        live.now()
    except SettingsFileError:
        pass


def _logged(logs: list[dict], event: str) -> int:
    return sum(1 for entry in logs if entry["event"].startswith(event))


@pytest.mark.parametrize(("edit", "event"), [
    ("[[[\n", INVALID),
    ("approval_ttl_s = 60\n", RESTART),
    (FINANCE, ROLES),
])
def test_an_edit_is_logged_once_though_the_file_is_read_again_unchanged(
        settings_file, monkeypatch, edit, event):
    live = LiveSettings(load_settings(settings_file))
    settings_file.write_text(edit + USERS)
    with capture_logs() as logs:
        _read(live)
        _read(live)
        _leave_the_racy_window(monkeypatch)
        _read(live)  # read again: the mark lost its digest
        _read(live)
    assert _logged(logs, event) == 1, logs


def test_a_later_edit_with_the_same_problem_is_logged_again(settings_file, monkeypatch):
    live = LiveSettings(load_settings(settings_file))
    settings_file.write_text("approval_ttl_s = 60\n" + USERS)
    with capture_logs() as logs:
        _read(live)
        settings_file.write_text("approval_ttl_s = 90\n" + USERS)
        _read(live)
        _leave_the_racy_window(monkeypatch)
        _read(live)
    assert _logged(logs, RESTART) == 2, logs


def test_a_file_still_broken_after_another_edit_is_logged_again(settings_file):
    live = LiveSettings(load_settings(settings_file))
    with capture_logs() as logs:
        settings_file.write_text("[[[\n" + USERS)
        _read(live)
        settings_file.write_text("[[[ \n" + USERS)
        _read(live)
    assert _logged(logs, INVALID) == 2, logs
