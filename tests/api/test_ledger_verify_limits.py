"""GET /ledger/verify reads the whole ledger: one at a time per server, and a cooldown per user.

A refusal is 429 in the one error shape, with ``Retry-After``: ``verify_in_progress``
while another verification runs, ``verify_cooldown`` when the same user asks again
within ``[audit] verify_cooldown_s``.
"""

from __future__ import annotations

import httpx
import pytest

from baton.api import VerifyGuard
from baton.services import Services
from baton.settings import AuditSettings

from .live import make_settings, serve, token_of
from .verify_support import FakeClock, held_verification, in_background


def as_user(server, user_id: str) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/api/v1", timeout=30,
                        headers={"Authorization": f"Bearer {token_of(user_id)}"})


def verify(server, user_id: str) -> httpx.Response:
    with as_user(server, user_id) as client:
        return client.get("/ledger/verify")


def assert_refused(response: httpx.Response, code: str, retry_after: int) -> str:
    """A 429 ``code`` waiting ``retry_after`` seconds; returns its message."""
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code
    assert response.headers["retry-after"] == str(retry_after)
    return response.json()["error"]["message"]


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def guarded(services, clock):
    """A server whose verifications wait out a 10 s cooldown on ``clock``."""
    live = serve(services, verify_guard=VerifyGuard(10, clock=clock))
    yield live
    live.stop()


def test_a_verification_asked_for_while_one_runs_is_refused_with_429(guarded, services,
                                                                      monkeypatch):
    with held_verification(services, monkeypatch) as started:
        thread, first = in_background(lambda: verify(guarded, "dave"))
        assert started.wait(30)
        for user in ("dave", "alice"):  # anyone: the server reads one whole ledger at a time
            message = assert_refused(verify(guarded, user), "verify_in_progress", 1)
            assert "already running" in message
    thread.join(30)
    assert first[0].status_code == 200 and first[0].json()["ok"] is True


def test_the_same_user_is_refused_within_the_cooldown_and_another_user_is_not(guarded, clock):
    assert verify(guarded, "dave").status_code == 200
    clock.now += 3.2
    message = assert_refused(verify(guarded, "dave"), "verify_cooldown", 7)  # 6.8 s, rounded up
    assert "verify_cooldown_s" in message and "try again in 7 s" in message
    assert verify(guarded, "alice").status_code == 200


def test_the_cooldown_is_over_after_the_configured_seconds(guarded, clock):
    assert verify(guarded, "dave").status_code == 200
    clock.now += 9.5
    assert_refused(verify(guarded, "dave"), "verify_cooldown", 1)
    clock.now += 0.5
    assert verify(guarded, "dave").status_code == 200


def test_the_cooldown_comes_from_the_audit_setting(tmp_path):
    services = Services(make_settings(tmp_path, audit=AuditSettings(verify_cooldown_s=600)))
    live = serve(services)
    try:
        assert verify(live, "dave").status_code == 200
        refused = verify(live, "dave")
        assert refused.status_code == 429
        assert 590 <= int(refused.headers["retry-after"]) <= 600  # the real clock moved a little
    finally:
        live.stop()


def test_a_cooldown_of_zero_lets_a_user_verify_again_at_once_but_not_in_parallel(
        tmp_path, monkeypatch):
    services = Services(make_settings(tmp_path, audit=AuditSettings(verify_cooldown_s=0)))
    live = serve(services)
    try:
        assert [verify(live, "dave").status_code for _ in range(3)] == [200, 200, 200]
        with held_verification(services, monkeypatch) as started:
            thread, first = in_background(lambda: verify(live, "dave"))
            assert started.wait(30)
            assert_refused(verify(live, "dave"), "verify_in_progress", 1)
        thread.join(30)
        assert first[0].status_code == 200
    finally:
        live.stop()


def test_the_refusal_is_documented_in_the_openapi_schema(guarded):
    schema = httpx.get(guarded.url + "/openapi.json", timeout=30).json()
    refused = schema["paths"]["/api/v1/ledger/verify"]["get"]["responses"]["429"]
    assert "Retry-After" in refused["headers"]
    assert "verify_cooldown_s" in refused["description"]
