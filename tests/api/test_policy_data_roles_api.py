"""A role the policy data names may act over the API and the web page: approval rights
(``approval.roles``) grant the approver's actions, tools (``role_tools``) the analyst's; a role
it names nowhere grants nothing."""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services
from baton.settings import Settings, User, hash_token
from tests.api.live import serve, token_of
from tests.web.test_web_forms import sign_in, signed_in

from .test_api_basics import assert_error

GOAL = "Total the amount column of sales.csv and write it to total.json"
ROLES = {"alice": ("analyst",), "fiona": ("finance",), "bob": ("approver",),
         "dave": ("auditor",), "cleo": ("clerk",), "sam": ("stranger",)}
POLICY_DATA = {
    "approval": {"roles": ["finance"], "two_person_risk": 60},
    # role_tools replaces the shipped table whole: the built-in roles keep theirs here.
    "role_tools": {"analyst": ["files.*", "table.*", "json.*"],
                   "approver": ["files.*", "table.*", "json.*"], "admin": ["*"],
                   "clerk": ["files.read", "table.*", "json.*"]},
}


@pytest.fixture
def live(tmp_path):
    """A server whose policy data gives finance approval rights and clerk tools; sam's role,
    stranger, is named nowhere (settings built here skip the load's check of roles)."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "sales.csv").write_text("region,amount\nnorth,10\nsouth,32\n")
    users = {uid: User(id=uid, roles=roles, token_sha256=(hash_token(token_of(uid)),))
             for uid, roles in ROLES.items()}
    services = Services(Settings(data_dir=tmp_path / ".baton", workspace=workspace, users=users,
                                 policy_data=POLICY_DATA))
    server = serve(services)
    yield server
    server.stop()


@pytest.fixture
def api(live):
    """``api(user)``: an httpx client of the API sending ``user``'s token."""
    clients: list[httpx.Client] = []

    def client(user: str) -> httpx.Client:
        made = httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                            headers={"Authorization": f"Bearer {token_of(user)}"})
        clients.append(made)
        return made

    yield client
    for made in clients:
        made.close()


@pytest.fixture
def plan_id(api) -> str:
    """A plan alice asked for, waiting for one approval from finance."""
    created = api("alice").post("/plans", json={"goal": GOAL})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending_approval"
    return created.json()["plan_id"]


def test_a_role_given_approval_rights_by_the_policy_data_approves(api, plan_id):
    fiona = api("fiona")
    assert fiona.get(f"/plans/{plan_id}").status_code == 200
    approved = fiona.post(f"/plans/{plan_id}/approve", json={"comment": "fine"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"


def test_an_approver_the_policy_data_does_not_name_is_still_refused_by_the_gate(api, plan_id):
    assert_error(api("bob").post(f"/plans/{plan_id}/approve", json={}), 403, "wrong_role")


def test_a_role_given_only_approval_rights_may_not_plan(api):
    refused = api("fiona").post("/plans", json={"goal": GOAL})
    assert_error(refused, 403, "forbidden")
    assert refused.json()["error"]["message"] == (
        "user 'fiona' (finance) may not plan.create; that needs the role analyst or admin or "
        "clerk")


def test_a_role_given_tools_by_the_policy_data_plans_with_those_tools_only(api, plan_id):
    cleo = api("cleo")
    reading = cleo.post("/plans", json={"goal": "Show the sum of the amount column of sales.csv"})
    assert reading.status_code == 201, reading.text
    assert reading.json()["status"] == "approved"
    writing = cleo.post("/plans", json={"goal": GOAL})  # files.write is not a clerk's tool
    assert writing.status_code == 201 and writing.json()["status"] == "denied"
    assert_error(cleo.post(f"/plans/{plan_id}/approve", json={}), 403, "forbidden")


def test_a_role_the_policy_data_names_nowhere_grants_nothing(api, plan_id):
    sam = api("sam")
    refused = sam.get(f"/plans/{plan_id}")
    assert_error(refused, 403, "forbidden")
    assert refused.json()["error"]["message"] == (
        "user 'sam' (stranger) may not plan.read; that needs the role analyst or approver or "
        "auditor or admin or clerk or finance; stranger is not a role of the table in force, so "
        "it grants nothing (a role added to the policy data while the server runs counts after "
        "a restart)")
    for method, path in (("POST", "/plans"), ("POST", f"/plans/{plan_id}/approve"),
                         ("GET", "/runs"), ("GET", "/tools")):
        assert sam.request(method, path, json={"goal": GOAL}).status_code == 403


def test_a_refusal_names_the_roles_the_policy_data_gives_the_action(api, plan_id):
    refused = api("dave").post(f"/plans/{plan_id}/approve", json={})
    assert_error(refused, 403, "forbidden")
    assert refused.json()["error"]["message"] == (
        "user 'dave' (auditor) may not plan.approve; that needs the role approver or admin or "
        "finance")


def test_the_web_page_offers_and_takes_the_approval_of_a_policy_data_role(live, plan_id):
    fiona, csrf = signed_in(live, "fiona")
    assert f'href="/plans/{plan_id}" data-testid="queue-plan"' in fiona.get("/").text
    page = fiona.get(f"/plans/{plan_id}")
    assert page.status_code == 200 and f'action="/plans/{plan_id}/approve"' in page.text
    assert f'action="/plans/{plan_id}/revise"' in page.text  # the approver's revise control
    approved = fiona.post(f"/plans/{plan_id}/approve", data={"csrf": csrf})
    assert approved.status_code == 200
    assert 'data-testid="plan-status">approved' in approved.text
    cleo, _ = signed_in(live, "cleo")
    assert 'action="/plans"' in cleo.get("/").text  # the goal form of one who may plan
    sam, home = sign_in(live, "sam")
    assert home.status_code == 403  # the queue page: no access
    assert "user &#39;sam&#39; (stranger) may not plan.read" in home.text
    refused = sam.get(f"/plans/{plan_id}")
    assert refused.status_code == 403 and "may not plan.read" in refused.text
