"""`baton token`: a new sign-in token for a user and the baton.toml lines that declare it."""

from __future__ import annotations

import json
import tomllib

from typer.testing import CliRunner

from baton.cli import app
from baton.settings import hash_token, load_settings


def test_the_printed_lines_let_the_token_sign_in(data_dir):
    result = CliRunner().invoke(app, ["token", "bob", "--role", "approver", "--json"])
    assert result.exit_code == 0, result.output
    issued = json.loads(result.stdout)
    assert issued["token_sha256"] == hash_token(issued["token"])
    (data_dir / "baton.toml").write_text(issued["toml"], encoding="utf-8")
    bob = load_settings("baton.toml").users["bob"]
    assert bob.roles == ("approver",)
    assert bob.token_sha256 == (hash_token(issued["token"]),)


def test_the_token_is_new_each_time_and_never_stored_in_the_toml(data_dir):
    first, second = (json.loads(CliRunner().invoke(app, ["token", "alice", "--json"]).stdout)
                     for _ in range(2))
    assert first["token"] != second["token"]
    assert first["token"] not in first["toml"]
    assert tomllib.loads(first["toml"])["users"]["alice"]["roles"] == ["analyst"]


def test_the_human_output_shows_the_token_and_the_toml(data_dir):
    result = CliRunner().invoke(app, ["token", "carol", "--role", "approver", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert "[users.carol]" in result.stdout
    assert 'roles = ["approver", "admin"]' in result.stdout


def test_a_user_id_that_is_no_bare_toml_key_is_declared_quoted(data_dir):
    result = CliRunner().invoke(app, ["token", "bob smith"])
    assert result.exit_code == 0, result.output
    assert '[users."bob smith"]' in result.output


def test_an_unknown_role_is_a_usage_error_listing_the_known_roles(data_dir):
    result = CliRunner().invoke(app, ["token", "alice", "--role", "approvers"])
    assert result.exit_code == 2, result.output
    assert "'approvers'" in result.output and "admin, analyst, approver, auditor" in result.output
    assert "token_sha256" not in result.output  # no token was made


def test_a_role_the_policy_data_defines_may_be_given(data_dir):
    (data_dir / "baton.toml").write_text('[policy.data]\nrole_tools = {crm_reader = ["crm.*"]}\n')
    result = CliRunner().invoke(app, ["token", "carol", "--role", "analyst",
                                      "--role", "crm_reader"])
    assert result.exit_code == 0, result.output
    assert 'roles = ["analyst", "crm_reader"]' in result.stdout


def test_a_token_can_be_made_to_mend_a_settings_file_holding_a_raw_token(data_dir):
    (data_dir / "baton.toml").write_text('[users.bob]\nroles = ["approver"]\n'
                                         'token_sha256 = ["pasted-the-token-itself"]\n')
    result = CliRunner().invoke(app, ["token", "bob", "--role", "approver"])
    assert result.exit_code == 0, result.output
