"""A settings file found in the working directory and then removed fails closed, like a broken one.

``./baton.toml`` is read when it is there and not required: a server or worker that started
with it, and saw it vanish (an editor that moves the old file away before writing the new
one), went on with the defaults, no user at all: a worker then claimed queued runs and their
approval check failed them for good ("alice (roles: ) may not use tool files.read").
"""

from __future__ import annotations

import pytest

from baton.settings import read_settings
from baton.settings_reload import LiveSettings, SettingsFileError
from tests.support.settings_files import USERS, write_settings


def test_a_file_removed_after_the_start_refuses_until_it_is_back(tmp_path):
    path = tmp_path / "baton.toml"
    write_settings(path, USERS)
    live = LiveSettings(read_settings(path, required=False, environ={}))
    assert "alice" in live.now().users

    path.unlink()
    with pytest.raises(SettingsFileError, match="does not exist"):
        live.now()
    write_settings(path, USERS)
    assert "alice" in live.now().users


def test_a_file_absent_at_the_start_may_stay_absent_and_once_seen_must_stay(tmp_path):
    path = tmp_path / "baton.toml"
    live = LiveSettings(read_settings(path, required=False, environ={}))
    assert live.now().users == {}  # no file, none required: the defaults, as at start

    write_settings(path, USERS)
    assert "alice" in live.now().users
    path.unlink()
    with pytest.raises(SettingsFileError, match="does not exist"):
        live.now()
