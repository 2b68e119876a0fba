"""The role→tool rule judges the requester for every tool and, for the tools a version adds,
its author.

A revision is planned by a real LLM planner against the scripted local endpoint
and stored on SQLite and PostgreSQL; the shipped policies judge it.
"""

from __future__ import annotations

import json

import pytest

from baton.services import Services
from baton.settings import Settings, User
from baton.usecases.plans import plan_from_document, revise_plan
from planner.base import PlannerKind
from planner.versions import VersionStatus
from tests.executor.conftest import db_url  # noqa: F401 - fixture: SQLite, then PostgreSQL
from tests.support.openai_server import Completion
from tests.support.policy_tools import policy_registry

ROOT = User(id="root", roles=("admin",))
ALICE = User(id="alice", roles=("analyst",))
BOB = User(id="bob", roles=("approver",))

READ_ONLY = {"goal": "look at the sales", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}}]}
NOTE = {"id": "note", "tool": "crm.note", "args": {"text": "customer called"}}
READ_CRM = {"id": "customers", "tool": "crm.read_eu", "args": {"segment": "churned"}}
EXPORT = {"id": "export", "tool": "warehouse.export", "args": {"table": "sales"}}
READ = {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}}


@pytest.fixture
def services(tmp_path, db_url, openai_server):  # noqa: F811 - the imported fixture
    settings = Settings(data_dir=tmp_path / ".baton", database_url=db_url,
                        users={u.id: u for u in (ROOT, ALICE, BOB)},
                        llm={"base_url": openai_server.base_url, "model": "scripted"})
    return Services(settings, registry=policy_registry(tmp_path / "ws"))


def _reply(*steps: dict) -> Completion:
    """A planner reply in the structured-output shape (arguments as a JSON string)."""
    return Completion(content=json.dumps({"steps": [
        {"id": s["id"], "tool": s["tool"], "args_json": json.dumps(s["args"]), "depends_on": [],
         "why": ""} for s in steps]}))


def _revise(services, openai_server, plan_id: str, actor: User):
    openai_server.script(_reply(READ, EXPORT))
    return revise_plan(services, plan_id, "also export the sales table", actor,
                       planner=PlannerKind.LLM)


def _deny(services, stored) -> tuple[str, ...]:
    decided = services.approval_store.latest_decision(stored.plan_id, stored.version)
    return decided.decision.deny


def test_revision_adding_a_tool_the_reviser_may_not_use_is_denied_naming_the_reviser(
        services, openai_server):
    first = plan_from_document(services, READ_ONLY, ROOT)
    revised = _revise(services, openai_server, first.plan_id, ALICE)
    assert revised.version == 2 and revised.created_by == "alice"
    assert revised.status is VersionStatus.DENIED
    assert any("alice (roles: analyst)" in d and "may not use tool warehouse.export" in d
               for d in _deny(services, revised)), _deny(services, revised)


def test_revision_by_a_broader_role_is_still_denied_when_the_requester_lacks_the_tool(
        services, openai_server):
    first = plan_from_document(services, READ_ONLY, ALICE)
    revised = _revise(services, openai_server, first.plan_id, ROOT)
    assert revised.status is VersionStatus.DENIED
    assert "step export: alice (roles: analyst) may not use tool warehouse.export" in _deny(
        services, revised)
    assert not any(d.startswith("step export: root") for d in _deny(services, revised))


def _crm_plan_revised_by_the_approver(services, openai_server, *steps: dict):
    first = plan_from_document(services, {"goal": "note the call", "steps": [NOTE]}, ALICE)
    openai_server.script(_reply(*steps))
    return revise_plan(services, first.plan_id, "say when the customer called", BOB,
                       planner=PlannerKind.LLM)


def test_an_approver_revising_a_plan_without_adding_tools_is_not_judged_for_its_tools(
        services, openai_server):
    changed_note = {**NOTE, "args": {"text": "customer called on Monday"}}
    revised = _crm_plan_revised_by_the_approver(services, openai_server, changed_note)
    assert revised.created_by == "bob"
    assert revised.status is not VersionStatus.DENIED, _deny(services, revised)
    assert not any("may not use tool" in d for d in _deny(services, revised))


def test_an_approver_revision_adding_a_tool_the_approver_lacks_is_denied_naming_the_approver(
        services, openai_server):
    revised = _crm_plan_revised_by_the_approver(services, openai_server, NOTE, READ_CRM)
    assert revised.status is VersionStatus.DENIED
    assert _deny(services, revised) == (
        "step customers: bob (roles: approver), who wrote this version, may not use tool "
        "crm.read_eu",)
