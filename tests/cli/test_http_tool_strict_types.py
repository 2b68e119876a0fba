"""A ``[[tools.http]]`` boolean or number of the wrong TOML type stops every command (exit 2).

``idempotent = "no"`` registered the table as idempotent; now the one ``error:`` line names
the table and the field.
"""

from __future__ import annotations

import pytest

from tests.support.cli_in_process import in_process_baton

CONFIG = """
[users.alice]
roles = ["analyst"]

[[tools.http]]
name = "crm.note"
url = "https://api.internal.example/notes"
description = "Add a note to a customer."
"""


@pytest.fixture
def baton(data_dir, capsys):
    with in_process_baton(capsys) as run:
        yield run


@pytest.mark.parametrize(("line", "named"), [
    ('idempotent = "no"', "tools.http[0] (crm.note): idempotent: Input should be a valid boolean, "
                          "not a string"),
    ("idempotent = 1", "tools.http[0] (crm.note): idempotent: Input should be a valid boolean, "
                        "not a number"),
    ('timeout_s = "30"', "tools.http[0] (crm.note): timeout_s: "),
    ('retry = { max_attempts = "5" }', "tools.http[0] (crm.note): retry.max_attempts: "),
])
@pytest.mark.parametrize("command", [("tools", "list"), ("plans", "list")])
def test_a_wrongly_typed_table_field_is_a_configuration_error(baton, data_dir, line, named,
                                                              command):
    (data_dir / "baton.toml").write_text(CONFIG + line + "\n")
    done = baton("--as", "alice", *command)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    [error] = done.stderr.strip().splitlines()
    assert error.startswith("error:") and "baton.toml" in error and named in error, error


def test_the_table_with_toml_booleans_and_numbers_is_listed(baton, data_dir):
    (data_dir / "baton.toml").write_text(
        CONFIG + "idempotent = true\ntimeout_s = 5\nretry = { max_attempts = 2 }\n")
    done = baton("--as", "alice", "tools", "list")
    assert done.returncode == 0 and "crm.note" in done.stdout, done
