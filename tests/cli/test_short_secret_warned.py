"""A ``[secrets]`` value shorter than 8 characters is masked everywhere but cannot be told from
ordinary text in a plan: the settings warn of it when they load, naming the secret, never its
value or its length, on stderr only (``--json`` output stays parseable)."""

from __future__ import annotations

import json

import pytest

from tests.support.cli_in_process import in_process_baton

CONFIG = """
[users.alice]
roles = ["analyst"]

[secrets]
{secrets}
"""
WARNED = ("is shorter than 8 characters: it cannot be told from ordinary text in plans, and "
          "masking it hides ordinary text wherever it appears; configure the real value")


@pytest.fixture
def baton_with(data_dir, capsys):
    with in_process_baton(capsys) as run:
        def with_secrets(secrets: str):
            (data_dir / "baton.toml").write_text(CONFIG.format(secrets=secrets))
            return run
        yield with_secrets


def test_a_short_secret_is_warned_about_once_by_name_only(baton_with):
    done = baton_with('CRM_TOKEN = "zq7"')("--as", "alice", "tools", "list")
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "CRM_TOKEN" in line]
    assert len(warned) == 1, done.stderr
    assert f"secret CRM_TOKEN {WARNED}" in warned[0]
    assert "zq7" not in done.stderr and "3 characters" not in done.stderr


def test_the_warning_stays_off_json_output(baton_with):
    done = baton_with('CRM_TOKEN = "zq7"')("--as", "alice", "tools", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) and "CRM_TOKEN" not in done.stdout
    assert "secret CRM_TOKEN is shorter than 8 characters" in done.stderr


def test_secrets_of_eight_characters_or_more_are_not_warned_about(baton_with):
    done = baton_with('CRM_TOKEN = "8chars!!"\nLONG = "a-much-longer-token"')(
        "--as", "alice", "tools", "list")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_each_short_secret_is_named_in_order():
    from baton.settings import Settings
    from baton.settings_checks import short_secret_warnings

    settings = Settings(secrets={"A": "1234567", "B": "long-enough-value", "C": ""})
    assert [name for name, _ in short_secret_warnings(settings)] == ["A", "C"]
