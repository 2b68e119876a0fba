"""The web plan page never shows a configured secret's value typed into an approval's comment
or a rejection's reason: stored masked through its forms, and one stored before the secret was
configured is shown masked in the approval history and the gate."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from baton.services import Services
from baton.usecases.plans import plan_from_document
from executor.store.schema import ApprovalRow
from tests.api.live import make_settings, serve
from tests.support.stored_before_secret import before_secret, commented
from tests.web.test_web_forms import signed_in
from tools.redaction import REDACTED

SECRET = "crm-SuperSecret-0042"
WRITE = {"goal": "write the note", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": "hello"}}]}


def stored_comments(services: Services) -> list[str | None]:
    """The comment column of every stored approval and rejection."""
    with Session(services.engine) as session:
        return [row.comment for row in session.exec(select(ApprovalRow)).all()]


@pytest.fixture
def site(tmp_path):
    """A server with SECRET configured as CRM_TOKEN over two plans waiting for approval."""
    services = Services(make_settings(tmp_path, secrets={"CRM_TOKEN": SECRET}))
    alice = services.settings.users["alice"]
    plans = [plan_from_document(services, WRITE, alice) for _ in range(2)]
    live = serve(services)
    yield live, services, plans
    live.stop()
    services.engine.dispose()


def test_a_comment_and_a_reason_posted_through_the_page_are_stored_and_shown_masked(site):
    server, services, (approved, rejected) = site
    bob, csrf = signed_in(server, "bob")
    page = bob.post(f"/plans/{approved.plan_id}/approve",
                    data={"csrf": csrf, "comment": f"fine, {SECRET}"})
    assert page.status_code == 200 and SECRET not in page.text
    assert f"fine, {REDACTED}" in page.text
    page = bob.post(f"/plans/{rejected.plan_id}/reject",
                    data={"csrf": csrf, "reason": f"not {SECRET}"})
    assert page.status_code == 200 and SECRET not in page.text
    assert f"not {REDACTED}" in page.text
    assert sorted(stored_comments(services)) == [f"fine, {REDACTED}", f"not {REDACTED}"]


def test_comments_stored_before_the_secret_was_configured_are_shown_masked(tmp_path):
    before = before_secret(tmp_path)
    approved, rejected = commented(before, WRITE, f"fine, {SECRET}", f"not {SECRET}")
    before.engine.dispose()
    after = Services(make_settings(tmp_path, secrets={"CRM_TOKEN": SECRET}))
    live = serve(after)
    try:
        dave, _ = signed_in(live, "dave")
        for plan_id, shown in ((approved, f"fine, {REDACTED}"), (rejected, f"not {REDACTED}")):
            page = dave.get(f"/plans/{plan_id}")
            assert page.status_code == 200 and SECRET not in page.text, plan_id
            assert shown in page.text, plan_id
        assert SECRET in " ".join(stored_comments(after))  # left as stored
    finally:
        live.stop()
        after.engine.dispose()


def test_a_planning_error_quoting_the_goal_is_flashed_masked(site):
    server, _, _ = site
    alice, csrf = signed_in(server, "alice")
    page = alice.post("/plans", data={"csrf": csrf, "goal": f"Copy /{SECRET}.csv to x.csv"})
    assert page.status_code == 200 and "no template matches" in page.text
    assert SECRET not in str(page.url) and SECRET not in page.text
    assert f"/{REDACTED}.csv" in page.text
