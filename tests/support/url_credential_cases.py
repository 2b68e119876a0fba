"""What the URL-credential tests share: a requester, a fixed hour, a credential-like value and
host, and the ways they ask (the list found in arguments, the plan-time decision)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input, iter_strings, url_credentials
from tests.support.policy_tools import policy_registry

ALICE = Requester(id="alice", roles=("analyst",))
NOON = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
VALUE = "f8Kq2LmZx9Pw3RtY7vBn"
HOST = "https://api.internal.example"


def listed(args: dict[str, Any]) -> list[dict[str, str]]:
    """The literal credentials found in the URLs among ``args``' strings."""
    return url_credentials(list(iter_strings(args)))


def decide(engine: Any, url: str, **args: Any) -> Any:
    """``engine``'s decision on a one-step plan fetching ``url`` (with more ``args``)."""
    plan = Plan.model_validate({"goal": "fetch it", "steps": [
        {"id": "fetch", "tool": "http.request", "args": {"url": url, **args}}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))
