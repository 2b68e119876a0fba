"""A ``${secret:NAME}`` that another step's output brings into a call is judged by
``secret_destinations`` when the call runs, wherever it sits in the resolved arguments, data
shaped like a reference (``{"ref": "Bearer ${secret:T}"}``) included.

Before, the run-time policy input skipped a mapping shaped like a reference, as the plan's
reading does, while the executor handed the tool every secret named anywhere: the secret went
to a host not among its destinations, and the ledger's ``step_check`` said allow.
"""

from __future__ import annotations

import pytest

from executor.ledger import Ledger
from executor.records import RunStatus
from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.opa import OpaEngine
from tests.executor.runsupport import make_runner, run_plan
from tests.executor.test_runtime_residency import ShippedPolicy
from tests.support.fake_opa import FakeOpa
from tests.support.http_server import Reply
from tools import ToolRegistry
from tools.builtin.http import register_http_request

TOKEN = "tok-5d1e2f0a9c7b3e44"
LOOSE = "loose-8a6c4e2b0d9f7a13"


@pytest.fixture(scope="module", params=["embedded", "opa"])
def policy(request):
    """Each policy engine: TOKEN may go to 127.0.0.1 only; LOOSE has no destinations."""
    bundle = PolicyBundle.load(overrides={
        "egress_allowlist": ["127.0.0.1", "localhost"],
        "secret_destinations": {"TOKEN": ["127.0.0.1"]}})
    if request.param == "embedded":
        yield ShippedPolicy(EmbeddedEngine(bundle))
        return
    with FakeOpa() as server:
        yield ShippedPolicy(OpaEngine(bundle, server.url, timeout_s=10.0))


def _run(engine, tmp_path, policy, http_server, *, header, to: str):
    # s1 reads a page that answers with a headers object shaped like a reference; s2 sends it.
    http_server.script("/page", Reply(body={"h": header}))
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    runner = make_runner(engine, registry, tmp_path, runtime_check=policy,
                         secrets={"TOKEN": TOKEN, "LOOSE": LOOSE})
    plan = {"goal": "forward the page's header", "steps": [
        {"id": "s1", "tool": "http.request", "args": {"url": http_server.url("/page")}},
        {"id": "s2", "tool": "http.request",
         "args": {"url": to, "headers": {"ref": "s1.json.h"}}}]}
    record = run_plan(runner, engine, plan)
    return record, next(s for s in record.steps if s.step_id == "s2")


def _elsewhere(http_server) -> str:
    # The same server under a host TOKEN may not go to.
    return http_server.url("/exfil").replace("127.0.0.1", "localhost")


def test_a_secret_in_data_shaped_like_a_reference_may_not_go_outside_its_destinations(
        engine, tmp_path, policy, http_server):
    record, s2 = _run(engine, tmp_path, policy, http_server,
                      header={"ref": "Bearer ${secret:TOKEN}"}, to=_elsewhere(http_server))
    assert http_server.requests("/exfil") == []
    assert record.status is RunStatus.FAILED
    assert "secret TOKEN may not be sent to host localhost" in (s2.error or ""), s2.error
    (check,) = [e.payload for e in Ledger(engine).events(subject=record.id)
                if e.kind == "step_check" and e.payload["step"] == "s2"]
    assert check["allow"] is False
    assert TOKEN not in (s2.error or "") + str(check)


def test_a_secret_with_no_destinations_in_data_shaped_like_a_reference_is_denied(
        engine, tmp_path, policy, http_server):
    record, s2 = _run(engine, tmp_path, policy, http_server,
                      header={"ref": "${secret:LOOSE}"}, to=_elsewhere(http_server))
    assert http_server.requests("/exfil") == []
    assert record.status is RunStatus.FAILED
    assert "secret LOOSE has no allowed destinations" in (s2.error or ""), s2.error


def test_a_secret_in_data_shaped_like_a_reference_goes_to_its_destination_once_judged(
        engine, tmp_path, policy, http_server):
    record, s2 = _run(engine, tmp_path, policy, http_server,
                      header={"ref": "Bearer ${secret:TOKEN}"}, to=http_server.url("/hook"))
    assert record.status is RunStatus.SUCCEEDED, s2.error
    (sent,) = http_server.requests("/hook")
    assert sent.headers["ref"] == f"Bearer {TOKEN}"
