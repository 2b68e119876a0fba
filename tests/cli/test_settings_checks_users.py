"""Users, tokens, roles and [policy] in the settings: a mistake is a configuration error naming
it (exit 2), never a user who silently has other rights, no rights, or a token that never works."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.settings import ConfigError, Settings, load_settings
from tests.support.cli_in_process import in_process_baton

def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "baton.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, environ=env or {})


def _refused(tmp_path: Path, text: str, *said: str) -> str:
    """The one-line ConfigError ``text`` gives; it must name every one of ``said``."""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    message = caught.value.message
    assert "\n" not in message and "baton.toml" in message, message
    for part in said:
        assert part in message, (part, message)
    return message


# --- a user's table cannot name another user --------------------------------------------------

def test_a_users_table_cannot_take_another_users_id(tmp_path):
    _refused(tmp_path, '[users.mallory]\nid = "bob"\nroles = ["approver"]\n'
                       '[users.bob]\nroles = ["approver"]\n',
             "users.mallory", "'bob'", "name of its table")


def test_acting_as_a_user_whose_table_names_another_id_is_refused_before_anything_runs(
        data_dir, capsys):
    (data_dir / "baton.toml").write_text('[users.mallory]\nid = "bob"\nroles = ["approver"]\n')
    with in_process_baton(capsys) as baton:
        done = baton("--as", "mallory", "approve", "p-00000000")
    assert done.returncode == 2 and "users.mallory" in done.stderr, done


# --- entries that used to be dropped without a word -------------------------------------------

def test_a_user_written_as_a_string_is_a_configuration_error_saying_how_to_declare_it(tmp_path):
    _refused(tmp_path, '[users]\nalice = "analyst"\n',
             "users.alice", "must be a table", '[users.alice] with roles = ["analyst"]')


def test_a_policy_key_outside_policy_data_is_a_configuration_error_pointing_there(tmp_path):
    _refused(tmp_path, '[policy]\negress_allowlist = ["evil.example"]\n',
             "policy.egress_allowlist", "[policy.data]")


def test_policy_data_is_still_read(tmp_path):
    settings = _load(tmp_path, '[policy.data]\negress_allowlist = ["api.example"]\n')
    assert settings.policy_data == {"egress_allowlist": ["api.example"]}
