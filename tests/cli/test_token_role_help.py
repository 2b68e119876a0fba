"""``baton token --help`` says that a role the policy data names is accepted, not only the
built-in four (``baton token fiona --role finance`` works where approval.roles names it)."""

from __future__ import annotations

from typer.testing import CliRunner

from baton.cli import app


def test_the_role_help_names_the_policy_data_roles_too(data_dir):
    result = CliRunner().invoke(app, ["token", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "analyst, approver, auditor, admin" in text
    assert "approval.roles" in text and "role_tools" in text


def test_a_role_the_policy_data_names_is_taken(data_dir):
    (data_dir / "baton.toml").write_text(
        '[policy.data.approval]\nroles = ["finance"]\ntwo_person_risk = 60\n')
    result = CliRunner().invoke(app, ["token", "fiona", "--role", "finance", "--json"])
    assert result.exit_code == 0, result.output
