"""``baton token USER`` takes every user id the settings take: the TOML it prints quotes one
that is not a bare key, and the settings read it back as that user.

It refused ids such as "eve smith" (only 1-64 letters, digits, '-' or '_', so that the table
needed no quoting) although ``baton.toml`` declares them and ``--as`` acts as them. Still
refused, each saying why: one longer than the settings take; an empty id, which no one can act
as (``--as ""`` is no user); and, as mistakes no one would see in the file, a blank one and one
holding a control character (a line break pasted with the name).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from baton.cli import app
from baton.settings import hash_token, load_settings
from baton.settings_users import MAX_USER_ID_CHARS

ACCEPTED = ["eve smith", "eve.smith", "ève", 'o"brien', "a[b]", "x" * MAX_USER_ID_CHARS]


@pytest.mark.parametrize("user", ACCEPTED, ids=range(len(ACCEPTED)))
def test_an_id_the_settings_take_gets_a_token_that_signs_in_as_it(data_dir, user):
    result = CliRunner().invoke(app, ["token", user, "--role", "approver", "--json"])
    assert result.exit_code == 0, result.output
    issued = json.loads(result.stdout)
    assert issued["user"] == user
    (data_dir / "baton.toml").write_text(issued["toml"], encoding="utf-8")
    settings = load_settings("baton.toml", environ={})
    assert list(settings.users) == [user]
    assert settings.user_for_token(issued["token"]).id == user
    assert settings.users[user].token_sha256 == (hash_token(issued["token"]),)


@pytest.mark.parametrize("user", ["eve smith", "[/x]", "[bold]me[/bold]"])
def test_the_human_output_names_the_id_as_typed_and_declares_it_quoted(data_dir, user):
    result = CliRunner().invoke(app, ["token", user])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"token for {user} (shown once")
    assert f"[users.{json.dumps(user)}]" in result.stdout


def _refused(user: str) -> str:
    result = CliRunner().invoke(app, ["token", user])
    assert result.exit_code == 2, result.output
    assert "token_sha256" not in result.output  # no token was made
    return " ".join(result.output.split())


def test_an_id_longer_than_the_settings_take_is_refused_naming_the_limit(data_dir):
    said = _refused("x" * (MAX_USER_ID_CHARS + 1))
    assert f"at most {MAX_USER_ID_CHARS} characters" in said and f"{MAX_USER_ID_CHARS + 1}" in said


@pytest.mark.parametrize("user, said", [("", "is empty"), ("   ", "is blank")])
def test_an_empty_or_blank_id_is_refused_saying_so(data_dir, user, said):
    assert f"the user id {said}; give the name the person acts as" in _refused(user)


def test_an_id_with_a_control_character_is_refused_naming_it(data_dir):
    said = _refused("eve\tsmith")
    assert "control character (U+0009)" in said
