"""What an author other than the requester is judged against: the tools of the requester's
latest valid version before theirs, never another author's version nor an invalid one.

A reviser repeating a revision the policies denied, or revising a plan whose only earlier
version is invalid, once escaped the role rule (their version was compared with the one just
before it, whatever it was): these follow the reviewer's reproductions end to end, through
the use cases, with a real LLM planner against the scripted local endpoint, on SQLite and
PostgreSQL, judged by the shipped policies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from baton.services import Services
from baton.settings import Settings, User
from baton.usecases.approving import approve
from baton.usecases.plans import plan_from_document, revise_plan
from baton.usecases.policy_input import policy_input
from planner.base import PlannerKind
from planner.problems import InvalidPlanError
from planner.versions import VersionStatus
from policies.approval import ApprovalRefused
from tests.executor.conftest import db_url  # noqa: F401 - fixture: SQLite, then PostgreSQL
from tests.support.openai_server import Completion
from tests.support.policy_tools import policy_registry

ROOT = User(id="root", roles=("admin",))
ALICE = User(id="alice", roles=("analyst",))
BOB = User(id="bob", roles=("approver",))
CAROL = User(id="carol", roles=("approver",))
DAVE = User(id="dave", roles=("approver",))

READ = {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}}
NOTE = {"id": "note", "tool": "crm.note", "args": {"text": "customer called"}}
NOTE_MONDAY = {**NOTE, "args": {"text": "customer called on Monday"}}
READ_CRM = {"id": "customers", "tool": "crm.read_eu", "args": {"segment": "churned"}}


@pytest.fixture
def services(tmp_path, db_url, openai_server):  # noqa: F811 - the imported fixture
    settings = Settings(data_dir=tmp_path / ".baton", database_url=db_url,
                        users={u.id: u for u in (ROOT, ALICE, BOB, CAROL, DAVE)},
                        llm={"base_url": openai_server.base_url, "model": "scripted"})
    made = Services(settings, registry=policy_registry(tmp_path / "ws"))
    yield made
    if "engine" in made.__dict__:
        made.engine.dispose()


def _revise(services, openai_server, plan_id: str, actor: User, *steps: dict):
    """``actor``'s revision of the plan, the planner answering with ``steps``."""
    openai_server.script(Completion(content=json.dumps({"steps": [
        {"id": s["id"], "tool": s["tool"], "args_json": json.dumps(s["args"]),
         "depends_on": [], "why": ""} for s in steps]})))
    return revise_plan(services, plan_id, "change the note", actor, planner=PlannerKind.LLM)


def _plan(services, requester: User, *steps: dict):
    return plan_from_document(services, {"goal": "note the call", "steps": list(steps)},
                              requester)


def _deny(services, stored) -> tuple[str, ...]:
    return services.approval_store.latest_decision(stored.plan_id, stored.version).decision.deny


def _added(services, stored) -> list[str]:
    """The tools the policies judge the version's author for, from the input they read."""
    return policy_input(services, stored, datetime.now(UTC), None)["author"]["added_tools"]


def _denied_naming(services, stored, who: User, tool: str) -> bool:
    return stored.status is VersionStatus.DENIED and any(
        d.endswith(f"{who.id} (roles: {', '.join(who.roles)}), who wrote this version, may not "
                   f"use tool {tool}") for d in _deny(services, stored))


def _not_judged(services, stored) -> bool:
    return stored.status is not VersionStatus.DENIED and _added(services, stored) == []


def test_a_reviser_repeating_a_denied_addition_is_denied_again_and_cannot_be_approved(
        services, openai_server):
    first = _plan(services, ALICE, READ)
    added = _revise(services, openai_server, first.plan_id, BOB, READ, NOTE)
    assert _denied_naming(services, added, BOB, "crm.note"), _deny(services, added)
    again = _revise(services, openai_server, first.plan_id, BOB, READ, NOTE)
    assert again.version == 3 and _added(services, again) == ["crm.note"]
    assert _denied_naming(services, again, BOB, "crm.note"), _deny(services, again)
    with pytest.raises(ApprovalRefused):
        approve(services, first.plan_id, CAROL)
    assert services.plan_store.get(first.plan_id).status is VersionStatus.DENIED


def test_a_reviser_of_a_plan_whose_only_earlier_version_is_invalid_is_judged_for_every_tool(
        services, openai_server):
    with pytest.raises(InvalidPlanError) as raised:
        _plan(services, ALICE, READ, {**NOTE, "args": {"txt": "typo"}})
    invalid = raised.value.stored
    assert invalid.status is VersionStatus.INVALID and invalid.created_by == "alice"
    revised = _revise(services, openai_server, invalid.plan_id, BOB, READ, NOTE)
    assert revised.version == 2
    assert _added(services, revised) == ["crm.note", "files.read"]
    assert _denied_naming(services, revised, BOB, "crm.note"), _deny(services, revised)


def test_in_a_chain_of_revisers_each_is_judged_against_the_requesters_version(
        services, openai_server):
    first = _plan(services, ALICE, READ, NOTE)
    plan_id = first.plan_id
    assert _not_judged(services, _revise(services, openai_server, plan_id, BOB, READ, NOTE_MONDAY))
    assert _not_judged(services, _revise(services, openai_server, plan_id, DAVE, READ, NOTE))
    adds = _revise(services, openai_server, plan_id, BOB, READ, NOTE, READ_CRM)
    assert _denied_naming(services, adds, BOB, "crm.read_eu"), _deny(services, adds)
    # Neither the next reviser nor the first one again is compared with the denied version.
    for reviser in (DAVE, BOB):
        kept = _revise(services, openai_server, plan_id, reviser, READ, NOTE, READ_CRM)
        assert _added(services, kept) == ["crm.read_eu"]
        assert _denied_naming(services, kept, reviser, "crm.read_eu"), _deny(services, kept)


def test_a_tool_the_requester_dropped_counts_as_added_when_a_reviser_brings_it_back(
        services, openai_server):
    first = _plan(services, ALICE, READ, NOTE)
    dropped = _revise(services, openai_server, first.plan_id, ALICE, READ)
    assert dropped.created_by == "alice" and dropped.status is not VersionStatus.DENIED
    back = _revise(services, openai_server, first.plan_id, BOB, READ, NOTE)
    assert _added(services, back) == ["crm.note"]
    assert _denied_naming(services, back, BOB, "crm.note"), _deny(services, back)


def test_a_tool_another_author_may_add_is_not_lent_to_later_revisers_until_the_requester_keeps_it(
        services, openai_server):
    first = _plan(services, ALICE, READ)
    by_admin = _revise(services, openai_server, first.plan_id, ROOT, READ, NOTE)
    assert by_admin.status is not VersionStatus.DENIED, _deny(services, by_admin)
    assert _added(services, by_admin) == ["crm.note"]
    kept = _revise(services, openai_server, first.plan_id, BOB, READ, NOTE)
    assert _denied_naming(services, kept, BOB, "crm.note"), _deny(services, kept)
    # Once the requester writes a version with it, it is theirs: a reviser may keep it.
    mine = _revise(services, openai_server, first.plan_id, ALICE, READ, NOTE)
    assert mine.status is not VersionStatus.DENIED, _deny(services, mine)
    assert _not_judged(services, _revise(services, openai_server, first.plan_id, BOB,
                                         READ, NOTE_MONDAY))


def test_an_invalid_version_of_the_requester_is_passed_over_for_their_valid_one(
        services, openai_server):
    first = _plan(services, ALICE, READ)
    with_note = _revise(services, openai_server, first.plan_id, ALICE, READ, NOTE)
    # As a version stored invalid (by an earlier release, or repaired so) would stand.
    services.plan_store.set_status(first.plan_id, with_note.version, VersionStatus.INVALID)
    revised = _revise(services, openai_server, first.plan_id, BOB, READ, NOTE)
    assert _added(services, revised) == ["crm.note"]
    assert _denied_naming(services, revised, BOB, "crm.note"), _deny(services, revised)
