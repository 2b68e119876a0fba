"""A `[[tools.http]]` table naming a secret that `[secrets]` lacks is a configuration error.

Before, such a table registered, the plan passed policy and approval, and only the run
failed (`missing_secret`). Now loading the settings refuses it: exit 2, one line naming
the table (tool name), the field and the secret.
"""

from __future__ import annotations

import pytest

from tests.support.cli_in_process import in_process_baton

BASE = """
[users.alice]
roles = ["analyst"]

[secrets]
CRM_TOKEN = "crm-token-value-0123"
"""
TOOL = """
[[tools.http]]
name = "crm.lookup"
url = "https://crm.example.com/lookup"
method = "GET"
description = "Look up a customer"
"""


@pytest.fixture
def baton(data_dir, capsys):
    with in_process_baton(capsys) as run:
        yield run


def _config(data_dir, extra: str) -> None:
    (data_dir / "baton.toml").write_text(BASE + TOOL + extra)


def _config_error(result) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error:"), line
    return line


def test_a_header_using_an_unconfigured_secret_is_a_configuration_error(baton, data_dir):
    _config(data_dir, 'secrets = ["NOPE"]\nheaders = {Authorization = "Bearer ${secret:NOPE}"}\n')
    line = _config_error(baton("tools", "list"))
    for named in ("tools.http[0] (crm.lookup)", "headers.Authorization", "'NOPE'", "[secrets]"):
        assert named in line, (named, line)
    assert "crm-token-value-0123" not in line
    assert _config_error(baton("--as", "alice", "plan", "Copy a.csv to b.csv")) == line


def test_a_listed_secret_that_is_not_configured_is_a_configuration_error(baton, data_dir):
    _config(data_dir, 'secrets = ["CRM_TOKEN", "SPARE"]\n'
                      'headers = {Authorization = "Bearer ${secret:CRM_TOKEN}"}\n')
    line = _config_error(baton("tools", "list"))
    assert "tools.http[0] (crm.lookup)" in line and "secrets lists 'SPARE'" in line
    assert "CRM_TOKEN" not in line


def test_every_unconfigured_secret_of_every_table_is_named_at_once(baton, data_dir):
    second = TOOL.replace("crm.lookup", "crm.note").replace('"GET"', '"POST"')
    _config(data_dir, 'secrets = ["A1"]\nheaders = {X-Key = "${secret:A1}"}\n' + second
            + 'secrets = ["B2"]\nheaders = {Authorization = "Bearer ${secret:B2}"}\n')
    line = _config_error(baton("tools", "list"))
    assert "tools.http[0] (crm.lookup)" in line and "'A1'" in line
    assert "tools.http[1] (crm.note)" in line and "'B2'" in line


def test_a_table_whose_secrets_are_configured_still_loads(baton, data_dir):
    _config(data_dir, 'secrets = ["CRM_TOKEN"]\n'
                      'headers = {Authorization = "Bearer ${secret:CRM_TOKEN}"}\n')
    listed = baton("tools", "list")
    assert listed.returncode == 0, listed.stderr
    assert "crm.lookup" in listed.stdout
