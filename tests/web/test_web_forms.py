"""The web page's forms over real HTTP: sign-in cookie, CSRF, roles, queue and ledger view."""

from __future__ import annotations

import re

import httpx
import pytest

from baton.services import Services
from baton.usecases.plans import plan_goal
from tests.api.live import make_settings, serve, token_of
from tests.support.gate_actions import GATE_ACTIONS

GOAL = "Summarise the amount column of sales.csv by region into summary.json"


@pytest.fixture
def site(tmp_path):
    """A server with one plan alice asked for, waiting for approval."""
    services = Services(make_settings(tmp_path))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    live = serve(services)
    yield live, stored
    live.stop()


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(server, user: str) -> tuple[httpx.Client, httpx.Response]:
    """A client that opened the sign-in page and posted its form with ``user``'s token."""
    client = httpx.Client(base_url=server.url, follow_redirects=True, timeout=30)
    form = client.get("/signin")
    return client, client.post("/signin", data={"csrf": csrf_of(form), "token": token_of(user)})


def signed_in(server, user: str) -> tuple[httpx.Client, str]:
    client, page = sign_in(server, user)
    assert page.status_code == 200
    return client, csrf_of(page)


def test_sign_in_sets_an_http_only_strict_cookie(site):
    server, _ = site
    client = httpx.Client(base_url=server.url, timeout=30)
    form = client.get("/signin")
    response = client.post("/signin", data={"csrf": csrf_of(form), "token": token_of("bob")})
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_pages_need_a_signed_in_user(site):
    server, stored = site
    response = httpx.get(f"{server.url}/plans/{stored.plan_id}")
    assert response.status_code == 303 and response.headers["location"] == "/signin"


def test_the_queue_shows_a_plan_to_its_approvers_not_its_requester(site):
    server, stored = site
    bob, _ = signed_in(server, "bob")
    alice, _ = signed_in(server, "alice")
    assert 'data-testid="queue-plan">' + stored.plan_id in bob.get("/").text
    assert 'data-testid="queue-plan">' + stored.plan_id not in alice.get("/").text


def test_a_form_without_this_sessions_csrf_token_is_refused(site):
    server, stored = site
    bob, _ = signed_in(server, "bob")
    _, other_csrf = signed_in(server, "carol")
    for token in ("", other_csrf):
        response = bob.post(f"/plans/{stored.plan_id}/approve", data={"csrf": token})
        assert response.status_code == 403
    assert "pending approval" in bob.get(f"/plans/{stored.plan_id}").text


def test_an_analyst_cannot_approve_through_the_page(site):
    server, stored = site
    alice, csrf = signed_in(server, "alice")
    response = alice.post(f"/plans/{stored.plan_id}/approve", data={"csrf": csrf})
    assert response.status_code == 403
    assert "may not plan.approve" in response.text


def test_rejecting_needs_a_reason_and_is_recorded(site):
    server, stored = site
    bob, csrf = signed_in(server, "bob")
    page = bob.post(f"/plans/{stored.plan_id}/reject", data={"csrf": csrf, "reason": ""})
    assert "needs a reason" in page.text
    page = bob.post(f"/plans/{stored.plan_id}/reject", data={"csrf": csrf, "reason": "wrong file"})
    assert 'data-testid="plan-status">rejected' in page.text
    assert "wrong file" in page.text


def test_unknown_plan_shows_an_error_page(site):
    server, _ = site
    bob, _ = signed_in(server, "bob")
    response = bob.get("/plans/p-00000000")
    assert response.status_code == 404 and "<html" in response.text


def test_ledger_view_shows_the_plan_events_and_that_they_hash_correctly(site):
    server, stored = site
    dave, _ = signed_in(server, "dave")
    page = dave.get("/ledger", params={"subject": stored.plan_id}).text
    assert "events shown intact" in page and "hashes correctly" in page
    assert page.count(f">{stored.plan_id}</a>") >= 3


def test_the_sign_in_page_says_where_a_token_comes_from(site):
    server, _ = site
    page = httpx.get(server.url + "/signin")
    assert page.status_code == 200
    assert "baton token" in page.text


def test_a_user_with_no_role_sees_no_plans_on_the_home_page(site):
    server, stored = site
    _, page = sign_in(server, "erin")
    assert page.status_code == 403
    assert "may not plan.read" in page.text
    assert stored.plan_id not in page.text and GOAL not in page.text
    assert "Sign out" in page.text  # still signed in, so they can leave


@pytest.fixture
def site_with_a_run(tmp_path):
    """A server with alice's plan approved and one run of it queued."""
    from baton.usecases.approving import approve
    from baton.usecases.gates import gate_state
    from baton.usecases.runs import start_run

    services = Services(make_settings(tmp_path))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    for approver in ("bob", "carol"):
        if gate_state(services, stored.plan_id).missing_count:
            approve(services, stored.plan_id, services.settings.users[approver])
    start_run(services, stored.plan_id, services.settings.users["alice"], detach=True)
    live = serve(services)
    yield live, stored
    live.stop()


def test_status_badges_show_the_status_value_not_the_enum_name(site_with_a_run):
    server, stored = site_with_a_run
    bob, _ = signed_in(server, "bob")
    for page in (bob.get(f"/plans/{stored.plan_id}").text, bob.get("/").text):
        assert "Status." not in page
        assert re.search(r'class="badge s-[a-z_]+"', page)


def test_a_revision_whose_plan_states_another_goal_says_so_on_the_plan_page(tmp_path):
    """bob rewrote alice's plan: carol, who must sign it off, sees what the plan now says."""
    from baton.usecases.plans import revise_plan

    services = Services(make_settings(tmp_path))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    revised = revise_plan(services, stored.plan_id, "Copy sales.csv to stolen/sales.csv",
                          services.settings.users["bob"])
    assert revised.plan.goal != GOAL
    live = serve(services)
    try:
        carol, _ = signed_in(live, "carol")
        page = carol.get(f"/plans/{stored.plan_id}").text
        assert 'data-testid="version-goal"' in page and revised.plan.goal in page
        assert f'action="/plans/{stored.plan_id}/approve"' in page
        bob, _ = signed_in(live, "bob")  # he wrote v2: no approve button, not in his queue
        assert f'action="/plans/{stored.plan_id}/approve"' not in bob.get(f"/plans/{stored.plan_id}").text
        assert 'data-testid="queue-plan">' + stored.plan_id not in bob.get("/").text
        alice_page = carol.get(f"/plans/{stored.plan_id}?version=1").text
        assert 'data-testid="version-goal"' not in alice_page
    finally:
        live.stop()


def test_an_approver_who_wrote_an_earlier_version_is_not_offered_approval(tmp_path):
    """bob wrote v2, alice v3: the gate refuses bob (an author), so the page offers him nothing."""
    from baton.usecases.plans import revise_plan

    services = Services(make_settings(tmp_path))
    users = services.settings.users
    stored = plan_goal(services, GOAL, users["alice"])
    revise_plan(services, stored.plan_id, "Copy sales.csv to backup/sales.csv", users["bob"])
    latest = revise_plan(services, stored.plan_id, GOAL, users["alice"])
    assert latest.version == 3 and latest.created_by == "alice"
    live = serve(services)
    try:
        bob, _ = signed_in(live, "bob")
        assert f'action="/plans/{stored.plan_id}/approve"' not in bob.get(
            f"/plans/{stored.plan_id}").text
        assert 'data-testid="queue-plan">' + stored.plan_id not in bob.get("/").text
        carol, _ = signed_in(live, "carol")
        carol_page = carol.get(f"/plans/{stored.plan_id}").text
        assert f'action="/plans/{stored.plan_id}/approve"' in carol_page
    finally:
        live.stop()


def test_a_form_with_too_many_fields_is_a_400_page_not_a_server_error(site):
    server, stored = site
    bob, csrf = signed_in(server, "bob")
    data = {"csrf": csrf, **{f"f{i}": "x" for i in range(30)}}
    response = bob.post(f"/plans/{stored.plan_id}/approve", data=data)
    assert response.status_code == 400
    assert "<html" in response.text and "more than 20 fields" in response.text
    assert "pending approval" in bob.get(f"/plans/{stored.plan_id}").text


def test_a_flash_message_in_a_link_is_shown_only_when_this_server_signed_it(site):
    server, stored = site
    bob, csrf = signed_in(server, "bob")
    spoof = "Security notice: paste your token at evil.example"
    page = bob.get(f"/plans/{stored.plan_id}", params={"flash": spoof, "kind": "error"}).text
    assert spoof not in page
    page = bob.post(f"/plans/{stored.plan_id}/reject", data={"csrf": csrf, "reason": "wrong"})
    assert "Rejected; the requester can ask for a revision." in page.text  # signed: shown
    carol, _ = signed_in(server, "carol")  # bob's signed link means nothing in carol's session
    assert "Rejected; the requester" not in carol.get(str(page.url).replace(server.url, "")).text


def test_the_sign_in_form_refuses_a_post_without_its_csrf_token(site):
    server, _ = site
    response = httpx.post(server.url + "/signin", data={"token": token_of("bob")})
    assert response.status_code == 403 and "baton_token" not in response.headers.get(
        "set-cookie", "")
    client = httpx.Client(base_url=server.url, timeout=30)
    client.get("/signin")
    forged = client.post("/signin", data={"csrf": "0" * 64, "token": token_of("bob")})
    assert forged.status_code == 403 and "came from another site" in forged.text


def test_the_forms_refuse_text_longer_than_the_api_accepts(site):
    from baton.limits import COMMENT_MAX_CHARS, GOAL_MAX_CHARS

    server, stored = site
    alice, csrf = signed_in(server, "alice")
    assert f'maxlength="{GOAL_MAX_CHARS}"' in alice.get("/").text
    page = alice.post("/plans", data={"csrf": csrf, "goal": GOAL + " " * GOAL_MAX_CHARS})
    assert page.status_code == 422 and f"goal: at most {GOAL_MAX_CHARS} characters" in page.text
    assert len(plans_of(server)) == 1  # only the fixture's plan
    bob, csrf = signed_in(server, "bob")
    page = bob.post(f"/plans/{stored.plan_id}/approve",
                    data={"csrf": csrf, "comment": "x" * (COMMENT_MAX_CHARS + 1)})
    assert page.status_code == 422 and "comment: at most" in page.text
    assert "pending approval" in bob.get(f"/plans/{stored.plan_id}").text


def plans_of(server) -> list:
    return httpx.get(server.url + "/api/v1/plans",
                     headers={"Authorization": f"Bearer {token_of('dave')}"}).json()


def test_failures_of_pages_are_html_pages_while_the_api_keeps_its_json(site):
    from sqlalchemy import text

    server, stored = site
    dave, _ = signed_in(server, "dave")
    for path, status in ((f"/plans/{stored.plan_id}?version=abc", 422), ("/no-such-page", 404)):
        page = dave.get(path)
        assert page.status_code == status
        assert page.headers["content-type"].startswith("text/html") and "<html" in page.text
    api = dave.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    services = server.server.config.app.state.services
    with services.engine.begin() as conn:
        conn.execute(text("DROP TABLE ledger"))
    page = dave.get("/ledger")  # a table gone: the schema is not this Baton's (no retry)
    assert page.status_code == 500 and "<html" in page.text, page.text
    assert "does not match this Baton" in page.text, page.text


def test_the_ledger_page_shows_the_newest_events_and_says_older_ones_exist(site):
    server, stored = site
    services = server.server.config.app.state.services
    for i in range(510):
        services.ledger.append("note", "p-filler", "root", {"i": i})
    head = services.ledger.head()[0]
    dave, _ = signed_in(server, "dave")
    page = dave.get("/ledger").text
    shown = [int(seq) for seq in re.findall(r"<tr><td>(\d+)</td>", page)]
    assert shown == list(range(head - 499, head + 1))
    assert 'data-testid="older-events"' in page and "baton audit show" in page
    assert f"{head - 500} older events are not shown" in page
    page = dave.get("/ledger", params={"subject": "p-filler"}).text
    assert len(re.findall(r"<tr><td>(\d+)</td>", page)) == 500 and "10 older events" in page
    assert 'data-testid="older-events"' not in dave.get(
        "/ledger", params={"subject": stored.plan_id}).text


@pytest.mark.parametrize("act", GATE_ACTIONS)
def test_the_answer_forms_post_the_hash_shown_and_a_revision_since_refuses_it(tmp_path, act):
    """bob's page showed v1; alice revised before he pressed Approve (Reject): nothing is done."""
    from baton.usecases.plans import revise_plan

    services = Services(make_settings(tmp_path))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    live = serve(services)
    try:
        bob, csrf = signed_in(live, "bob")
        page = bob.get(f"/plans/{stored.plan_id}").text
        form = page[page.index(f'action="/plans/{stored.plan_id}/{act.verb}"'):]
        shown = re.search(r'name="plan_hash" value="([0-9a-f]{64})"', form).group(1)
        assert shown == stored.plan_hash
        revised = revise_plan(services, stored.plan_id, "Copy sales.csv to stolen/sales.csv",
                              services.settings.users["alice"])
        page = bob.post(f"/plans/{stored.plan_id}/{act.verb}",
                        data={**act.fields, "csrf": csrf, "plan_hash": shown}).text
        assert "you reviewed v1" in page and f"nothing was {act.done}" in page
        assert services.approval_store.records(stored.plan_id, revised.version) == []
    finally:
        live.stop()


BAD_VERSIONS = ("-1", "v1", "1.0", "0", "\u00b2", "+1", "99999999999")


@pytest.mark.parametrize("act", GATE_ACTIONS)
def test_a_malformed_version_in_an_answer_form_is_refused_not_read_as_the_latest(site, act):
    server, stored = site
    services = server.server.config.app.state.services
    bob, csrf = signed_in(server, "bob")
    for version in BAD_VERSIONS:
        page = bob.post(f"/plans/{stored.plan_id}/{act.verb}",
                        data={**act.fields, "csrf": csrf, "version": version})
        assert page.status_code == 422 and "version: must be a whole number" in page.text
    assert services.approval_store.records(stored.plan_id, stored.version) == []


def test_a_malformed_version_in_the_run_form_starts_no_run(site_with_a_run):
    from baton.usecases.runs import list_runs

    server, stored = site_with_a_run
    services = server.server.config.app.state.services
    alice, csrf = signed_in(server, "alice")
    for version in BAD_VERSIONS:
        page = alice.post(f"/plans/{stored.plan_id}/run", data={"csrf": csrf, "version": version})
        assert page.status_code == 422 and "version: must be a whole number" in page.text
    assert len(list_runs(services)) == 1  # the fixture's run only
    page = alice.post(f"/plans/{stored.plan_id}/run", data={"csrf": csrf, "version": ""})
    assert page.status_code == 200 and len(list_runs(services)) == 2  # empty: the latest
