"""A password inside a URL is denied with an empty user name too (``redis://:PASSWORD@host``).

Redis, and other services with a password and no user, take ``redis://:PASSWORD@host``; the
secret pattern for a password inside a URL wanted a user before the ":", so only
``redis://default:PASSWORD@host`` was denied. An IPv6 host (``[::1]``) is no user name: its
colons are not a user's and password's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, Requester, StepCall
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry

ALICE = Requester(id="alice", roles=("analyst",))
NOON = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
URL = "https://a.hooks.example.com/x"
PASSWORD = "Zk3x9QpLmN7vB2XyTq8W"

_PATTERN = re.compile(next(
    p["pattern"] for p in PolicyBundle.load().data["secret_patterns"]
    if p["kind"] == "a password inside a URL"))


def _decide(engine, steps):
    plan = Plan.model_validate({"goal": "g", "steps": steps})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


def _post(value: str) -> dict:
    return {"id": "post", "tool": "http.request",
            "args": {"method": "POST", "url": URL, "json": {"dsn": value}}}


@pytest.mark.parametrize("dsn", [
    f"redis://:{PASSWORD}@cache.internal:6379/0",
    f"rediss://:{PASSWORD}@cache.internal:6380",
    f"amqp://:{PASSWORD}@mq.internal/vhost",
    f"see redis://:{PASSWORD}@cache.internal:6379 for the cache",
])
def test_a_password_after_an_empty_user_is_denied(engine, dsn):
    decision = _decide(engine, [_post(dsn)])
    assert not decision.allow
    assert any("argument $.args.json.dsn contains a password inside a URL" in d
               for d in decision.deny), decision.deny
    assert not any(PASSWORD in d for d in decision.deny + decision.notes)


def test_a_password_after_an_empty_user_is_denied_in_a_file_and_at_run_time(engine):
    text = f"REDIS_URL=redis://:{PASSWORD}@cache.internal:6379/0\n"
    decision = _decide(engine, [{"id": "save", "tool": "files.write",
                                 "args": {"path": "app.env", "text": text}}])
    assert any("contains a password inside a URL" in d for d in decision.deny), decision.deny
    verdict = engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="post", tool="http.request", effect="write",
        args=_post(f"redis://:{PASSWORD}@cache.internal:6379/0")["args"], tags=("egress",),
        requester=ALICE))
    assert any("contains a password inside a URL" in d for d in verdict.deny), verdict.deny


@pytest.mark.parametrize("text", [
    "http://[::1]:8080/health",
    "http://[::1]:8080?notify=ops@example.com",
    "http://[2001:db8::1]:8443#owner=ops@example.com",
    "https://api.example.com:8443/v1/users/alice@example.com",
    "mailto:ops@example.com",
    "see http://cache.internal:6379/0 and mail ops@example.com",
    "redis://cache.internal:6379/0",
    "https://:8443/",
])
def test_hosts_ports_and_ipv6_addresses_are_no_password(text):
    assert not _PATTERN.search(text)


def test_ipv6_hosts_beside_an_address_are_allowed(engine):
    decision = _decide(engine, [_post("http://[::1]:8080?notify=ops@example.com")])
    assert not decision.deny, decision.deny
