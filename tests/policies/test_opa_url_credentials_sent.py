"""Credentials written into ``opa_url`` go to the server as HTTP basic auth, never shown.

They were dropped (the client was given the host alone), so an OPA behind an
authenticating proxy answered 401 to every request and every plan was denied for
"missing credentials".
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from structlog.testing import capture_logs

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input, step_call_for
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa
from tests.support.policy_tools import policy_registry

# Written percent-encoded in the URL, as a space, "/", "@" and non-ASCII letters must be.
USER, PASSWORD = "opa user", "S3cret/Pässw0rd@1"
SAFE_PLAN = Plan.model_validate({"goal": "list the files", "steps": [
    {"id": "ls", "tool": "files.list", "args": {}}]})
ALICE = Requester(id="alice", roles=("analyst",))
SAFE_INPUT = build_policy_input(SAFE_PLAN, policy_registry(), requester=ALICE,
                                context=PolicyContext(now=datetime(2024, 6, 4, 10, tzinfo=UTC)))
SAFE_CALL = step_call_for(SAFE_PLAN, "ls", {}, policy_registry(), run_id="r", plan_id="p",
                          requester=ALICE)


def _with_credentials(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{quote(user, safe='')}:{quote(password, safe='')}@")


def test_credentials_in_the_url_are_sent_as_basic_auth(bundle):
    with FakeOpa(basic_auth=(USER, PASSWORD)) as server:
        engine = OpaEngine(bundle, _with_credentials(server.url, USER, PASSWORD), timeout_s=60.0)
        decision = engine.decide(SAFE_INPUT)
        verdict = engine.check_step(SAFE_CALL)
    assert decision.allow, decision.deny
    assert verdict.allow, verdict.deny


def test_wrong_credentials_deny_without_showing_them(bundle):
    with FakeOpa(basic_auth=(USER, "the right one")) as server, capture_logs() as logs:
        decision = OpaEngine(bundle, _with_credentials(server.url, USER, PASSWORD),
                             timeout_s=60.0).decide(SAFE_INPUT)
    assert not decision.allow
    assert decision.deny[0].startswith("policy engine error: "), decision.deny
    assert "opa%20user:***@" in decision.deny[0], decision.deny
    for shown in (repr(decision.deny), repr(logs)):
        assert "S3cret" not in shown and "P%C3%A4ssw0rd" not in shown
