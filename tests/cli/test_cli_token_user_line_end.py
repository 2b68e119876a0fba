"""``baton token USER``: USER holds no line break, before or after the name.

The check was ``^...$`` with ``re.match``: ``$`` matches before a trailing newline, so
``baton token $'dave\\n'`` was accepted and its TOML declared a user no one can be.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from baton.cli import app


@pytest.mark.parametrize("user", ["dave\n", "dave\r\n", "\ndave"])
def test_a_user_id_with_a_line_break_is_a_usage_error(data_dir, user):
    result = CliRunner().invoke(app, ["token", user])
    assert result.exit_code == 2, result.output
    assert "token_sha256" not in result.output


def test_a_plain_user_id_is_still_accepted(data_dir):
    result = CliRunner().invoke(app, ["token", "dave"])
    assert result.exit_code == 0, result.output
