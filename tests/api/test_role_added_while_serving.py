"""A role the policy data adds while ``baton serve`` runs counts after a restart, and the
running server says so: in its log when it reads the file again (the role and who holds it)
and in the 403 a holder of that role meets.

The server reads its users again when the settings file changes, but its policy data only at
start: the policy engine judges plans by the data it started with (a worker too), and the
role table follows the same data, so that the decision never asks for approvers the table
refuses, nor the table lets a role author plans whose tools the policies would deny.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from baton.services import Services
from baton.settings import hash_token, load_settings, user_toml

from .live import serve, token_of
from .test_api_basics import assert_error

GOAL = "Total the amount column of sales.csv and write it to total.json"
USERS = {"alice": ("analyst",), "bob": ("approver",)}
FINANCE_APPROVES = """
[policy.data.approval]
roles = ["approver", "admin", "finance"]
two_person_risk = 60
"""


def write_settings(path: Path, users: dict[str, tuple[str, ...]], extra: str = "") -> None:
    """The settings file, written as an editor saves it: a new file moved over the old one."""
    workspace = path.parent / "workspace"
    text = (f"data_dir = {json.dumps(str(path.parent / 'data'))}\n"
            f"workspace = {json.dumps(str(workspace))}\n" + "".join(
                user_toml(uid, roles, [hash_token(token_of(uid))])
                for uid, roles in users.items()) + extra)
    staged = path.with_suffix(".new")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


@pytest.fixture
def settings_file(tmp_path):
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "sales.csv").write_text("region,amount\nnorth,10\nsouth,32\n")
    path = tmp_path / "baton.toml"
    write_settings(path, USERS)
    return path


def api(server, user: str) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/api/v1", timeout=30,
                        headers={"Authorization": f"Bearer {token_of(user)}"})


def test_a_role_added_while_serving_grants_nothing_until_restart_and_is_said_so(settings_file):
    server = serve(Services(load_settings(settings_file, environ={})))
    try:
        created = api(server, "alice").post("/plans", json={"goal": GOAL})
        assert created.status_code == 201, created.text
        plan_id = created.json()["plan_id"]
        with capture_logs() as logs:
            write_settings(settings_file, {**USERS, "fiona": ("finance",)}, FINANCE_APPROVES)
            refused = api(server, "fiona").get(f"/plans/{plan_id}")
        # fiona is known (her token is not 401: the users were read again), her role is not
        assert_error(refused, 403, "forbidden")
        message = refused.json()["error"]["message"]
        assert "finance" in message and "restart" in message, message
        [said] = [entry for entry in logs if entry.get("roles")]
        assert said["log_level"] == "warning" and "restart" in said["event"]
        assert said["roles"] == ["finance"] and said["users"] == ["fiona"]
    finally:
        server.stop()

    server = serve(Services(load_settings(settings_file, environ={})))  # the restart
    try:
        approved = api(server, "fiona").post(f"/plans/{plan_id}/approve", json={})
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
    finally:
        server.stop()


def test_policy_data_that_changes_no_role_names_none(settings_file):
    services = Services(load_settings(settings_file, environ={}))
    with capture_logs() as logs:
        write_settings(settings_file, USERS, '[policy.data]\negress_allowlist = ["x.example"]\n')
        assert services.settings.users.keys() == USERS.keys()
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert [entry["settings"] for entry in warnings] == [["policy_data"]], warnings


def test_a_role_whose_actions_change_is_named_with_its_holders(settings_file):
    clerks = '[policy.data.role_tools]\nclerk = ["files.read"]\n' + "".join(
        f'{role} = ["*"]\n' for role in ("analyst", "approver", "admin"))
    write_settings(settings_file, {**USERS, "cleo": ("clerk",)}, clerks)
    services = Services(load_settings(settings_file, environ={}))
    with capture_logs() as logs:  # clerk may approve now, as well as author plans
        write_settings(settings_file, {**USERS, "cleo": ("clerk",)}, clerks + FINANCE_APPROVES
                       .replace('"finance"', '"clerk"'))
        assert services.settings.users["cleo"].roles == ("clerk",)
    [said] = [entry for entry in logs if entry.get("roles")]
    assert said["roles"] == ["clerk"] and said["users"] == ["cleo"]
