"""The ledger page checks the events it shows; the whole chain is checked on demand."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from baton.services import Services
from baton.settings import AuditSettings
from baton.usecases.plans import plan_goal
from executor.ledger import Ledger
from tests.api.live import make_settings, serve
from tests.web.test_web_forms import GOAL, csrf_of, sign_in, signed_in

FILLER = 510  # more than the page shows (500), so the oldest events are off the page


@pytest.fixture
def long_ledger(tmp_path):
    """A server whose ledger holds alice's plan's events and then FILLER more.

    No cooldown between verifications: these tests press the button again after a change
    (the cooldown has its own tests, in test_web_verify_guard.py).
    """
    services = Services(make_settings(tmp_path, audit=AuditSettings(verify_cooldown_s=0)))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    for i in range(FILLER):
        services.ledger.append("note", "p-filler", "root", {"i": i})
    live = serve(services)
    yield live, services, stored
    live.stop()


def tamper(services: Services, seq: int) -> None:
    """Change one stored event's payload behind the ledger's back."""
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET payload = :p WHERE seq = :s"),
                     {"p": '{"i": -1}', "s": seq})


def card(page: str, testid: str) -> str:
    """The text of the element marked ``data-testid=testid`` (up to its closing div)."""
    match = re.search(rf'data-testid="{testid}".*?</div>', page, re.S)
    assert match, f"no {testid} on the page"
    return match.group(0)


def verify_all(client, csrf: str, **form: str):
    return client.post("/ledger/verify", data={"csrf": csrf, **form})


def test_viewing_the_ledger_page_does_not_verify_the_whole_chain(long_ledger, monkeypatch):
    server, _, _ = long_ledger
    calls = []
    real = Ledger.verify
    monkeypatch.setattr(Ledger, "verify", lambda self, **kw: calls.append(1) or real(self, **kw))
    dave, _ = signed_in(server, "dave")
    assert dave.get("/ledger").status_code == 200
    assert calls == []


def test_a_tampered_event_off_the_page_shows_only_when_the_whole_ledger_is_verified(long_ledger):
    server, services, _ = long_ledger
    dave, csrf = signed_in(server, "dave")
    assert "chain intact" in card(verify_all(dave, csrf).text, "verify")
    tamper(services, 1)  # the oldest event: not among the newest 500 shown
    page = dave.get("/ledger").text
    window = card(page, "window-check")
    assert "events shown intact" in window and "500 events shown" in window
    assert "chain broken" not in page and "broken" not in window
    assert "baton audit verify" in page  # the CLI's way to do the same
    result = verify_all(dave, csrf)  # recomputed now, not remembered from the first press
    assert result.status_code == 200
    full = card(result.text, "verify")
    assert "chain broken" in full and "event 1:" in full and "altered" in full


def test_a_tampered_event_on_the_page_is_reported_by_the_page_view(long_ledger):
    server, services, stored = long_ledger
    head = services.ledger.head()[0]
    tamper(services, head - 7)
    dave, _ = signed_in(server, "dave")
    window = card(dave.get("/ledger").text, "window-check")
    assert "events shown broken" in window and f"event {head - 7}:" in window
    tamper(services, 2)  # one of the plan's own events, shown on its subject page
    window = card(dave.get("/ledger", params={"subject": stored.plan_id}).text, "window-check")
    assert "events shown broken" in window and "event 2:" in window


def test_an_event_removed_from_the_page_breaks_the_links_the_page_checks(long_ledger):
    server, services, _ = long_ledger
    head = services.ledger.head()[0]
    with services.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger WHERE seq = :s"), {"s": head - 3})
    dave, _ = signed_in(server, "dave")
    window = card(dave.get("/ledger").text, "window-check")
    assert "events shown broken" in window and f"event {head - 2}:" in window


def test_verifying_the_whole_ledger_shows_the_head_to_keep(long_ledger):
    server, services, stored = long_ledger
    alice, csrf = signed_in(server, "alice")  # an analyst reads the ledger, so may verify it
    head_seq, head_hash = services.ledger.head()
    result = verify_all(alice, csrf, subject=stored.plan_id)
    assert result.status_code == 200
    full = card(result.text, "verify")
    assert "chain intact" in full and f"all {head_seq} events" in full
    assert f"event {head_seq}" in full and head_hash in full
    assert f"Ledger of {stored.plan_id}" in result.text  # back on the page it was asked from


def test_only_a_role_that_reads_the_ledger_may_verify_it(long_ledger, monkeypatch):
    server, _, _ = long_ledger
    calls = []
    monkeypatch.setattr(Ledger, "verify", lambda self, **kw: calls.append(1))
    erin, page = sign_in(server, "erin")  # signed in, no role
    refused = verify_all(erin, csrf_of(page))
    assert refused.status_code == 403 and "may not ledger.read" in refused.text
    dave, _ = signed_in(server, "dave")
    assert verify_all(dave, "").status_code == 403  # no CSRF token: refused too
    assert calls == []


def test_an_unreadable_event_on_the_page_is_reported_and_the_whole_check_stays_offered(long_ledger):
    server, services, _ = long_ledger
    head = services.ledger.head()[0]
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET payload = 'not json' WHERE seq = :s"), {"s": head})
    dave, csrf = signed_in(server, "dave")
    page = dave.get("/ledger")
    assert page.status_code == 200
    assert f"events shown broken at event {head}" in card(page.text, "window-check")
    assert 'action="/ledger/verify"' in page.text
    assert f"chain broken at event {head}" in card(verify_all(dave, csrf).text, "verify")
