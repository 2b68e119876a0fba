"""What the URL-credential tests share: a requester, a fixed hour, a credential-like value and
host, the ways they ask (the list found in arguments, the plan-time decision), and the URLs
that hide a credential by encoding or in a path parameter (``ENCODED``): denied at plan
time and masked wherever a URL is shown, by the same reading of its parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input
from policies.step_strings import iter_strings, url_credentials
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


def encoded(text: str, times: int) -> str:
    """``text`` with each "_" percent-encoded ``times`` times over."""
    # Each round encodes the "%" the round before wrote: "_" -> "%5F" -> "%255F" -> ...
    text = text.replace("_", "%5F")
    for _ in range(times - 1):
        text = text.replace("%", "%25")
    return text


ENCODED = {
    "a name encoded twice": (f"{HOST}/b?api%255Fkey={VALUE}", "api_key"),
    "a name encoded three times": (f"{HOST}/b?access%25255Ftoken={VALUE}", "access_token"),
    "a name encoded ten times": (f"{HOST}/b?{encoded('api_key', 10)}={VALUE}", "api_key"),
    "an encoded equals sign": (f"{HOST}/b?api_key%3D{VALUE}", "api_key"),
    "an encoded equals sign after a parameter": (f"{HOST}/b?x=1&token%3D{VALUE}", "token"),
    "an equals sign encoded twice": (f"{HOST}/b?api_key%253D{VALUE}", "api_key"),
    "an encoded ampersand in a value": (f"{HOST}/b?q=sales%26api_key%3D{VALUE}", "api_key"),
    "an encoded fragment in a value": (f"{HOST}/b?next=%23access_token%3D{VALUE}", "access_token"),
    "an ampersand encoded twice": (f"{HOST}/b?q=sales%2526sig%253D{VALUE}", "sig"),
    "an encoded question mark in the path": (f"{HOST}/b%3Ftoken%3D{VALUE}", "token"),
    "a matrix parameter": (f"{HOST}/x;access_token={VALUE}/y", "access_token"),
    "a servlet session id": (f"{HOST}/app/cart;jsessionid={VALUE}", "jsessionid"),
    "a PHP session id": (f"{HOST}/cart.php;PHPSESSID={VALUE}", "PHPSESSID"),
    "a matrix parameter after another": (f"{HOST}/cars;color=red;api_key={VALUE}", "api_key"),
    "an encoded matrix separator": (f"{HOST}/x%3Baccess_token%3D{VALUE}/y", "access_token"),
    "a letter of the name encoded twice": (f"{HOST}/b?pass%2577ord={VALUE}", "password"),
    "a path parameter after a path": (f"{HOST}/db;password={VALUE}", "password"),
    "a JDBC parameter after the host": (
        f"jdbc:sqlserver://db.internal:1433;databaseName=sales;password={VALUE}", "password"),
}
