"""The API's rules over real HTTP: who may do what, the gate's rules, runs and their events."""

from __future__ import annotations

import json

import httpx
import pytest

from baton.usecases.plans import plan_goal

from .test_api_basics import assert_error

GOAL = "Summarise the amount column of sales.csv by region into summary.json"
DOC = {"goal": "read the sales", "steps": [{"id": "load", "tool": "files.read",
                                             "args": {"path": "sales.csv"}}]}

# Written out by hand (not derived from ROLE_ACTIONS) so a change to the table must be deliberate.
ALLOWED = {
    "alice": {"plan.read", "plan.create", "plan.revise", "run.read", "run.start", "run.cancel",
              "tools.read", "policy.decide", "ledger.read"},
    "bob": {"plan.read", "plan.revise", "plan.approve", "plan.reject", "run.read", "run.start",
            "run.cancel", "tools.read", "policy.decide", "ledger.read"},
    "dave": {"plan.read", "run.read", "tools.read", "policy.decide", "ledger.read"},
    "erin": set(),
    "root": {"plan.read", "plan.create", "plan.revise", "plan.approve", "plan.reject", "run.read",
             "run.start", "run.cancel", "tools.read", "policy.decide", "ledger.read"},
}

ACTIONS = {
    "plan.read": ("GET", "/plans/{plan}", None),
    "plan.create": ("POST", "/plans", {"goal": "make me a sandwich"}),
    "plan.revise": ("POST", "/plans/{plan}/revise", {"feedback": "use the mean"}),
    "plan.approve": ("POST", "/plans/{plan}/approve", {"comment": "fine"}),
    "plan.reject": ("POST", "/plans/{plan}/reject", {"reason": "not now"}),
    "run.read": ("GET", "/runs", None),
    "run.start": ("POST", "/runs", {"plan_id": "{plan}"}),
    "run.cancel": ("POST", "/runs/r-000000000000/cancel", None),
    "tools.read": ("GET", "/tools", None),
    "policy.decide": ("POST", "/policy/decision", {"document": DOC}),
    "ledger.read": ("GET", "/ledger/verify", None),
}


@pytest.fixture
def plan_id(services):
    """A plan alice asked for, waiting at the gate."""
    return plan_goal(services, GOAL, services.settings.users["alice"]).plan_id


def _call(client, action: str, plan: str):
    method, path, body = ACTIONS[action]
    body = json.loads(json.dumps(body).replace("{plan}", plan)) if body else None
    return client.request(method, path.replace("{plan}", plan), json=body)


@pytest.mark.parametrize("user", sorted(ALLOWED))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_role_may_do_exactly_its_actions(client_for, plan_id, user, action):
    response = _call(client_for(user), action, plan_id)
    if action in ALLOWED[user]:
        assert response.status_code not in (401, 403) or \
            response.json()["error"]["code"] not in ("forbidden", "unauthorized"), response.text
    else:
        assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_needs_a_token(client_for, plan_id, action):
    assert_error(_call(client_for(None), action, plan_id), 401, "unauthorized")


def test_the_requester_cannot_approve_their_own_plan(client_for):
    frank = client_for("frank")  # analyst and approver: only the gate's own rule stops him
    created = frank.post("/plans", json={"goal": GOAL})
    assert created.status_code == 201
    response = frank.post(f"/plans/{created.json()['plan_id']}/approve", json={})
    assert_error(response, 403, "self_approval")


def test_a_run_needs_an_approved_plan(client_for, plan_id):
    assert_error(client_for("alice").post("/runs", json={"plan_id": plan_id}), 409, "not_approved")


def test_rejection_needs_a_reason_and_ends_the_version(client_for, plan_id):
    bob = client_for("bob")
    assert_error(bob.post(f"/plans/{plan_id}/reject", json={"reason": ""}), 422, "invalid_request")
    assert bob.post(f"/plans/{plan_id}/reject", json={"reason": "wrong region"}).json()[
        "status"] == "rejected"
    assert bob.get(f"/plans/{plan_id}").json()["latest"]["status"] == "rejected"


def test_malformed_json_is_400(client_for):
    response = client_for("alice").post("/plans", content=b'{"goal": ',
                                        headers={"Content-Type": "application/json"})
    assert_error(response, 400, "malformed_json")


def test_a_number_over_the_digit_limit_is_malformed_json_naming_the_number(client_for):
    # Python's int parser refuses over 4,300 digits with a ValueError that is not a JSONDecodeError.
    response = client_for("alice").post("/plans", content=b'{"goal": ' + b"9" * 5000 + b"}",
                                        headers={"Content-Type": "application/json"})
    assert_error(response, 400, "malformed_json")
    assert "number is too long" in response.json()["error"]["message"]


def test_a_body_nested_past_the_parsers_depth_is_malformed_json(client_for):
    response = client_for("alice").post("/plans", content=b"[" * 30_000 + b"]" * 30_000,
                                        headers={"Content-Type": "application/json"})
    assert_error(response, 400, "malformed_json")
    assert "too deeply" in response.json()["error"]["message"]


def test_a_body_that_is_not_utf8_is_malformed_json(client_for):
    response = client_for("alice").post("/plans", content=b'{"goal": "caf\xe9"}',
                                        headers={"Content-Type": "application/json"})
    assert_error(response, 400, "malformed_json")
    assert "UTF-8" in response.json()["error"]["message"]


def test_invalid_body_is_422_with_details(client_for):
    response = client_for("alice").post("/plans", json={"goal": "", "extra": 1})
    assert_error(response, 422, "invalid_request")
    assert {tuple(d["loc"]) for d in response.json()["error"]["details"]} >= {
        ("body", "goal"), ("body", "extra")}


def test_hand_written_plan_is_stored_and_judged(client_for):
    alice = client_for("alice")
    created = alice.post("/plans/document", json={"document": DOC})
    assert created.status_code == 201, created.text
    detail = alice.get(f"/plans/{created.json()['plan_id']}").json()
    assert detail["decision"]["allow"] is True
    bad = alice.post("/plans/document", json={"document": {**DOC, "steps": [
        {"id": "load", "tool": "files.raed", "args": {}}]}})
    assert_error(bad, 422, "invalid_plan")
    assert "files.read" in bad.json()["error"]["message"]


def test_policy_decision_names_the_host_off_the_allowlist(client_for):
    document = {"goal": "post", "steps": [{"id": "post", "tool": "http.request", "args": {
        "method": "POST", "url": "https://evil.example.net/x", "json": {"a": 1}}}]}
    report = client_for("dave").post("/policy/decision", json={"document": document}).json()
    assert report["outcome"] == "denied"
    assert any("evil.example.net" in reason for reason in report["decision"]["deny"])


def _approve_fully(services, plan_id: str, client_for) -> None:
    for approver in ("bob", "carol"):
        detail = client_for(approver).get(f"/plans/{plan_id}").json()
        if detail["gate"]["status"] == "approved":
            return
        assert client_for(approver).post(f"/plans/{plan_id}/approve", json={}).status_code == 200


def test_run_events_stream_until_the_run_ends(client_for, services, plan_id):
    _approve_fully(services, plan_id, client_for)
    alice = client_for("alice")
    started = alice.post("/runs", json={"plan_id": plan_id})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    kinds = []
    with alice.stream("GET", f"/runs/{run_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                assert event["subject"] == run_id
                kinds.append(event["kind"])
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    assert kinds.count("attempt_success") == 4
    record = alice.get(f"/runs/{run_id}").json()
    assert record["status"] == "succeeded"
    assert [s["status"] for s in record["steps"]] == ["succeeded"] * 4
    assert [r["id"] for r in alice.get("/runs").json()] == [run_id]


def test_unknown_run_is_404(client_for):
    assert_error(client_for("alice").get("/runs/r-nope/events"), 404, "run_not_found")


def test_run_responses_name_the_run_id_like_plan_responses_name_plan_id(client_for, services,
                                                                          plan_id, server):
    _approve_fully(services, plan_id, client_for)
    alice = client_for("alice")
    started = alice.post("/runs", json={"plan_id": plan_id}).json()
    assert started["run_id"] == started["id"]  # `id` stays for existing clients
    assert [r["run_id"] for r in alice.get("/runs").json()] == [started["id"]]
    assert alice.get(f"/runs/{started['id']}").json()["run_id"] == started["id"]
    schemas = httpx.get(server.url + "/openapi.json").json()["components"]["schemas"]
    assert "run_id" in schemas["RunRecord"]["properties"]
