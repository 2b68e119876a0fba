"""The "Verify the whole ledger" button shares the API's limit: one at a time, a cooldown per user.

A refusal is the ledger page itself, status 429 with ``Retry-After``, saying why.
"""

from __future__ import annotations

import pytest

from baton.api import VerifyGuard
from baton.services import Services
from baton.usecases.plans import plan_goal
from tests.api.live import make_settings, serve
from tests.api.verify_support import FakeClock, held_verification, in_background
from tests.web.test_web_forms import GOAL, signed_in
from tests.web.test_web_ledger import card, verify_all


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def site(tmp_path, clock):
    """A server over a ledger holding alice's plan, verifications waiting 10 s on ``clock``."""
    services = Services(make_settings(tmp_path))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    live = serve(services, verify_guard=VerifyGuard(10, clock=clock))
    yield live, services, stored
    live.stop()


def alert(html: str) -> str:
    """The page's one-line error message."""
    start = html.index('role="alert">') + len('role="alert">')
    return html[start:html.index("</div>", start)]


def test_the_button_pressed_while_a_verification_runs_says_one_is_running(site, monkeypatch):
    server, services, stored = site
    dave, dave_csrf = signed_in(server, "dave")
    alice, alice_csrf = signed_in(server, "alice")
    with held_verification(services, monkeypatch) as started:
        thread, first = in_background(lambda: verify_all(dave, dave_csrf))
        assert started.wait(30)
        refused = verify_all(alice, alice_csrf, subject=stored.plan_id)
    thread.join(30)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "already running" in alert(refused.text)
    assert 'data-testid="verify"' not in refused.text  # no result shown: none was computed
    assert f"Ledger of {stored.plan_id}" in refused.text  # the page it was asked from
    assert 'action="/ledger/verify"' in refused.text  # the button stays, to press later
    assert "chain intact" in card(first[0].text, "verify")


def test_the_button_pressed_again_within_the_cooldown_says_how_long_to_wait(site, clock):
    server, _, _ = site
    dave, dave_csrf = signed_in(server, "dave")
    alice, alice_csrf = signed_in(server, "alice")
    assert verify_all(dave, dave_csrf).status_code == 200
    clock.now += 1.5
    refused = verify_all(dave, dave_csrf)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "9"
    message = alert(refused.text)
    assert "verify_cooldown_s" in message and "try again in 9 s" in message
    assert "chain intact" in card(verify_all(alice, alice_csrf).text, "verify")  # not alice's wait
    clock.now += 8.5
    assert "chain intact" in card(verify_all(dave, dave_csrf).text, "verify")
