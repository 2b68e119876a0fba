"""Approving or rejecting an invalid version says it is invalid and to revise it, wherever it
is asked (the gate's rules, the CLI, the API, the web page: one function refuses for all).

It said the version "has no policy decision yet", as if one were coming: an invalid version is
never decided, so the approver waited, or asked again, for nothing.
"""

from __future__ import annotations

import json

import httpx
import pytest

from baton.services import Services
from baton.usecases.plans import plan_from_document
from planner.problems import InvalidPlanError
from policies.approval import ApprovalRefused, RefusalCode, check_can_approve, check_can_reject
from tests.api.live import make_settings, serve, token_of
from tests.policies.test_approval_gate import NOW, TTL, target
from tests.support.cli_in_process import in_process_baton
from tests.web.test_web_forms import signed_in

BROKEN = {"goal": "read the notes", "steps": [{"id": "load", "tool": "files.raed", "args": {}}]}


def _invalid_said(message: str, plan_id: str, verb: str) -> None:
    assert message == (f"plan {plan_id} v1 is invalid: it failed validation, so it has no "
                       f"policy decision and cannot be {verb}; revise the plan to make a valid "
                       "version"), message


@pytest.mark.parametrize("verb", ["approved", "rejected"])
def test_the_gate_refuses_an_invalid_version_saying_so(verb):
    with pytest.raises(ApprovalRefused) as info:
        if verb == "approved":
            check_can_approve("bob", ("approver",), target(invalid=True), None, [], NOW, TTL)
        else:
            check_can_reject("bob", ("approver",), target(invalid=True), None, [])
    assert info.value.refusal is RefusalCode.NO_DECISION  # the code clients branch on stays
    _invalid_said(info.value.message, "p-1", verb)


def test_a_valid_version_without_a_decision_is_still_said_to_lack_one():
    with pytest.raises(ApprovalRefused) as info:
        check_can_approve("bob", ("approver",), target(), None, [], NOW, TTL)
    assert info.value.message == "plan p-1 v1 has no policy decision yet"


@pytest.fixture
def invalid_plan(tmp_path):
    """Services, and the id of alice's plan whose only version is invalid."""
    services = Services(make_settings(tmp_path))
    with pytest.raises(InvalidPlanError) as stored:
        plan_from_document(services, BROKEN, services.settings.users["alice"])
    yield services, stored.value.stored.plan_id
    services.engine.dispose()


def test_the_api_and_the_web_page_refuse_it_with_the_same_words(invalid_plan):
    services, plan_id = invalid_plan
    live = serve(services)
    try:
        api = httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                           headers={"Authorization": f"Bearer {token_of('bob')}"})
        approved = api.post(f"/plans/{plan_id}/approve", json={})
        assert approved.status_code == 409, approved.text
        _invalid_said(approved.json()["error"]["message"], plan_id, "approved")
        rejected = api.post(f"/plans/{plan_id}/reject", json={"reason": "no"})
        _invalid_said(rejected.json()["error"]["message"], plan_id, "rejected")
        bob, csrf = signed_in(live, "bob")
        page = bob.post(f"/plans/{plan_id}/approve", data={"csrf": csrf})
        assert f"plan {plan_id} v1 is invalid: it failed validation" in page.text
        assert "no policy decision yet" not in page.text
    finally:
        live.stop()


@pytest.fixture
def cli(data_dir, capsys):
    """``baton`` in-process in a workspace with alice (analyst) and bob (approver)."""
    from tests.cli.conftest import CONFIG

    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    with in_process_baton(capsys) as run:
        yield run


def test_the_cli_refuses_it_naming_the_way_on(cli, data_dir):
    (data_dir / "broken.json").write_text(json.dumps(BROKEN))
    planned = cli("--as", "alice", "plan", "--file", "broken.json", "--json")
    assert planned.returncode == 1
    plan_id = json.loads(planned.stdout)["plan_id"]
    for verb, args in (("approved", ["approve", plan_id]),
                       ("rejected", ["reject", plan_id, "--reason", "no"])):
        done = cli("--as", "bob", *args)
        assert done.returncode == 1, done
        _invalid_said(" ".join(done.stderr.split()).removeprefix("error: "), plan_id, verb)
