"""A plan problem quoting an argument never keeps the start of a configured secret: a
schema's enum or pattern message quotes the value cut at 160 characters, a text holding a
NUL or a lone surrogate at 60, before the problems are masked. A secret crossing the cut
left its start (``crmTokenV…``) in the stored problems, the API's error and the ledger."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from baton.services import Services
from baton.settings import Settings, User
from baton.usecases.plans import plan_from_document
from executor.store.schema import PlanVersionRow
from planner.problems import InvalidPlanError
from tests.support.policy_tools import policy_registry
from tools.redaction import REDACTED

CRM = "crmTokenValue8f3a91"
ALICE = User(id="alice", roles=("analyst",))


@pytest.fixture
def services(tmp_path):
    settings = Settings(data_dir=tmp_path / ".baton", users={"alice": ALICE},
                        secrets={"CRM_TOKEN": CRM})
    built = Services(settings, registry=policy_registry(tmp_path / "ws"))
    yield built
    built.engine.dispose()


@pytest.mark.parametrize("step", [
    {"id": "g", "tool": "http.request",  # not one of the methods: quoted, cut at 160
     "args": {"method": "GET " + "a" * 148 + CRM, "url": "https://api.example/raw"}},
    {"id": "w", "tool": "files.write",  # a NUL: quoted, cut at 60
     "args": {"path": "n.txt", "text": "note: " + "a" * 42 + CRM + " end\x00"}},
], ids=["enum", "nul"])
def test_a_quoted_argument_cut_inside_a_secret_keeps_none_of_it(services, step):
    with pytest.raises(InvalidPlanError) as caught:
        plan_from_document(services, {"goal": "do it", "steps": [step]}, ALICE)
    shown = caught.value.message + json.dumps([p.model_dump(mode="json")
                                               for p in caught.value.problems])
    assert f"{REDACTED}…" in shown and "crmT" not in shown
    with Session(services.engine) as session:
        stored = json.dumps(session.exec(select(PlanVersionRow.plan_json)).all())
    assert "crmT" not in stored
    assert "crmT" not in json.dumps([e.payload for e in services.ledger.events()])
