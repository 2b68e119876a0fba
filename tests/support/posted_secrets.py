"""What the tests of secrets in a POST's arguments share: one ``http.request`` step ``send``
that POSTs to an internal URL, judged before the run (the plan decision) and at run time
(the step check), and the deny lines the secret rules write."""

from __future__ import annotations

from typing import Any

from planner.plan import Plan
from policies.contracts import StepCall
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, NOON

URL = "https://api.internal.example/in"
PASSWORD = "Zk3x9QpLm2Vb7RtYw"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


def secret_denial(path: str, kind: str) -> str:
    """The deny line for a value matching a secret pattern (``kind``) at ``path``."""
    return (f"step send: argument {path} contains {kind}; configure it as a secret and write "
            "${secret:NAME} instead")


def random_denial(path: str, word: str) -> str:
    """The deny line for a random-looking value under a key holding ``word``."""
    return (f"step send: argument {path} looks like a literal secret ({word}); configure it as "
            "a secret and write ${secret:NAME} instead")


def decide_post(engine, args: dict[str, Any], url: str = URL) -> Any:
    """The plan decision on step ``send`` POSTing ``args`` to ``url``."""
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "send", "tool": "http.request", "args": {"method": "POST", "url": url, **args}}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


def check_post(engine, args: dict[str, Any]) -> Any:
    """The run-time check of step ``send`` POSTing ``args`` (resolved) to :data:`URL`."""
    return engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="send", tool="http.request", effect="write",
        args={"method": "POST", "url": URL, **args}, tags=("egress",), requester=ALICE))
