"""Users, tokens, roles and [policy] in the settings: a mistake is a configuration error naming
it (exit 2), never a user who silently has other rights, no rights, or a token that never works."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from baton.settings import ConfigError, Settings, hash_token, load_settings
from policies.bundle import PolicyBundle
from tests.support.cli_in_process import in_process_baton

TOKEN = "bob-token-value"
DIGEST = hashlib.sha256(TOKEN.encode()).hexdigest()


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


# --- token hashes -----------------------------------------------------------------------------

def test_an_upper_case_token_hash_signs_the_user_in(tmp_path):
    settings = _load(tmp_path, f'[users.bob]\nroles = ["approver"]\n'
                               f'token_sha256 = ["{DIGEST.upper()}"]\n')
    assert settings.users["bob"].token_sha256 == (DIGEST,)
    assert settings.user_for_token(TOKEN).id == "bob"


def test_a_raw_token_in_place_of_its_hash_is_refused_without_echoing_it(tmp_path):
    message = _refused(tmp_path, f'[users.bob]\nroles = ["approver"]\ntoken_sha256 = ["{TOKEN}"]\n',
                       "users.bob.token_sha256", "looks like a raw token", "baton token")
    assert TOKEN not in message


def test_a_hash_of_the_wrong_length_is_refused(tmp_path):
    _refused(tmp_path, f'[users.bob]\nroles = ["approver"]\ntoken_sha256 = ["{DIGEST[:40]}"]\n',
             "users.bob.token_sha256", "40 hex digits", "64")


def test_one_token_hash_declared_for_two_users_names_both(tmp_path):
    _refused(tmp_path, f'[users.alice]\nroles = ["analyst"]\ntoken_sha256 = ["{DIGEST}"]\n'
                       f'[users.bob]\nroles = ["approver"]\ntoken_sha256 = ["{DIGEST.upper()}"]\n',
             "users.alice.token_sha256", "users.bob.token_sha256", "alice and bob")


def test_a_user_may_list_several_tokens(tmp_path):
    other = hash_token("another")
    settings = _load(tmp_path, f'[users.bob]\nroles = ["approver"]\n'
                               f'token_sha256 = ["{DIGEST}", "{other}"]\n')
    assert settings.user_for_token("another").id == "bob"


# --- roles ------------------------------------------------------------------------------------

def test_an_unknown_role_is_refused_listing_the_known_roles(tmp_path):
    _refused(tmp_path, '[users.bob]\nroles = ["approvers"]\n',
             "users.bob.roles", "'approvers'", "admin, analyst, approver, auditor")


def test_every_built_in_role_and_no_role_at_all_are_accepted(tmp_path):
    settings = _load(tmp_path, '[users.a]\nroles = ["analyst", "approver", "auditor", "admin"]\n'
                               '[users.b]\nroles = []\n')
    assert settings.users["b"].roles == ()


def test_a_role_the_policy_data_gives_tools_or_approval_rights_is_known(tmp_path):
    settings = _load(tmp_path, '[users.carol]\nroles = ["analyst", "crm_reader", "security"]\n'
                               '[policy.data]\nrole_tools = {crm_reader = ["crm.*"]}\n'
                               'approval = {roles = ["security"], two_person_risk = 60}\n')
    assert settings.users["carol"].roles == ("analyst", "crm_reader", "security")


def test_a_role_named_in_the_data_file_of_ones_own_policies_is_known(tmp_path):
    shipped = Path(__file__).parents[2] / "policies" / "rego"
    own = tmp_path / "policies"
    own.mkdir()
    for rego in shipped.glob("*.rego"):
        (own / rego.name).write_text(rego.read_text())
    # The shipped data but for role_tools: a data file must set every key its rules read.
    (own / "data.yaml").write_text(json.dumps(
        {**PolicyBundle.load().data, "role_tools": {"warehouse": ["warehouse.*"]}}))
    settings = _load(tmp_path, 'policies_dir = "policies"\n[users.wes]\nroles = ["warehouse"]\n')
    assert settings.users["wes"].roles == ("warehouse",)


def test_the_shipped_policy_data_names_only_built_in_roles():
    # Settings read the data file only of a policies_dir of one's own: this keeps that sound.
    import yaml

    from baton.usecases.permissions import ROLE_ACTIONS

    data = yaml.safe_load((Path(__file__).parents[2] / "policies/rego/data.yaml").read_text())
    named = set(data["role_tools"]) | set(data["approval"]["roles"])
    assert named <= set(ROLE_ACTIONS)


# --- the acting user --------------------------------------------------------------------------

USERS = '[users.alice]\nroles = ["analyst"]\n[users.bob]\nroles = ["approver"]\n'


@pytest.mark.parametrize("command", [("plan", "Read a.txt"), ("plans", "list")])
def test_an_empty_as_is_a_usage_error_not_the_baton_user(data_dir, capsys, monkeypatch, command):
    (data_dir / "baton.toml").write_text(USERS)
    monkeypatch.setenv("BATON_USER", "bob")
    with in_process_baton(capsys) as baton:
        done = baton("--as", "", *command)
    assert done.returncode == 2, done
    assert "--as" in done.stderr and "bob" not in done.stderr, done.stderr


def test_an_empty_baton_user_is_no_acting_user(data_dir, capsys, monkeypatch):
    (data_dir / "baton.toml").write_text(USERS)
    monkeypatch.setenv("BATON_USER", "")
    with in_process_baton(capsys) as baton:
        done = baton("plan", "Read a.txt")
    assert done.returncode == 2 and "no acting user" in done.stderr, done


# --- ids no one could act as, or no one would see ----------------------------------------------

@pytest.mark.parametrize(("table", "said"), [
    ('[users.""]', "empty"),
    ('[users."   "]', "blank"),
    ('[users."bob\\n"]', "control character"),
    ('[users."bob\\u0007"]', "control character"),
])
def test_an_empty_blank_or_control_character_user_id_is_a_configuration_error(
        tmp_path, table, said):
    # As `baton token` refuses them: an empty id cannot be acted as (--as "" is no user), and
    # a blank one or one with a line break reads as another user, or none, in the file.
    _refused(tmp_path, f'{table}\nroles = ["approver"]\n', said)


def test_such_ids_are_refused_in_settings_made_in_code_too():
    from baton.settings import User

    for uid in ("", "  ", "carol\t"):
        with pytest.raises(ValueError):
            User(id=uid, roles=("analyst",))
