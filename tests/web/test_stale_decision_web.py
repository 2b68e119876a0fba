"""The plan page says, beside the decision and the gate, when the decision will be taken
again before the version's approval or run, and why; reading the page writes nothing."""

from __future__ import annotations

import html

from baton.services import Services
from baton.usecases.plans import plan_from_document
from tests.api.live import make_settings
from tests.support.web_pages import page_as

WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}
NOTICE = 'data-testid="decision-stale"'


def _page(services: Services, plan_id: str) -> str:
    """The plan page as bob reads it."""
    return page_as(services, "bob", f"/plans/{plan_id}")


def _planned(tmp_path) -> str:
    services = Services(make_settings(tmp_path))
    return plan_from_document(services, WRITE_PLAN, services.settings.users["alice"]).plan_id


def test_the_notice_shows_why_once_the_requesters_roles_changed_and_only_then(tmp_path):
    plan_id = _planned(tmp_path)
    unchanged = _page(Services(make_settings(tmp_path)), plan_id)
    assert 'data-testid="decision"' in unchanged and NOTICE not in unchanged
    settings = make_settings(tmp_path)
    users = dict(settings.users)
    users["alice"] = users["alice"].model_copy(update={"roles": ()})
    now = Services(settings.model_copy(update={"users": users}))
    events = len(now.ledger.events())
    page = html.unescape(_page(now, plan_id))
    assert NOTICE in page
    notice = page.split(NOTICE, 1)[1].split("</div>", 1)[0]
    assert "To be taken again before approval or run" in notice
    assert f"what the policies judge plan {plan_id} v1 on changed since it was decided" in notice
    assert "requester's or author's roles" in notice
    assert page.index(NOTICE) < page.index('data-testid="gate"')
    assert len(now.ledger.events()) == events
    assert now.plan_store.get(plan_id).status.value == "pending_approval"
