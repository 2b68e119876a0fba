"""Residency at run time judges a source step by the host its URL resolved to: EU data fetched
from a URL that came from another step's output may not be posted to a US host."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from pydantic import BaseModel

from executor.checks import StepCall
from executor.records import RunStatus
from policies.bundle import PolicyBundle
from policies.contracts import Requester
from policies.contracts import StepCall as PolicyStepCall
from policies.embedded import EmbeddedEngine
from policies.inputs import build_step_input
from policies.opa import OpaEngine
from tests.executor.runsupport import make_runner, run_plan
from tests.support.fake_opa import FakeOpa
from tools import ToolRegistry
from tools.builtin.http import effect_of_request
from tools.builtin.jsonq import register_json_tools

ALICE = Requester(id="alice", roles=("analyst",))
EU_URL = "https://data.eu.example.com/customers"


class ShippedPolicy:
    """The shipped policies' runtime check, as ``PolicyRuntimeCheck`` adapts it."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def check_step(self, call: StepCall):
        """Judge ``call`` with ``data.baton.step_decision``."""
        fields = {**asdict(call), "requester": ALICE}
        return self.engine.evaluate_step(build_step_input(PolicyStepCall(**fields)))

    def step_region(self, tool: str, host: str | None, declared: str | None):
        """Where the policy places a call of ``tool`` to ``host`` (None: no region)."""
        return self.engine.step_region(tool, host, declared)

    def regions_hosts_may_have(self):
        """The regions the policy data may give a host."""
        return self.engine.regions_hosts_may_have()


@pytest.fixture(scope="module", params=["embedded", "opa"])
def policy(request):
    """Each policy engine over the shipped bundle."""
    bundle = PolicyBundle.load()
    if request.param == "embedded":
        yield ShippedPolicy(EmbeddedEngine(bundle))
        return
    with FakeOpa() as server:
        yield ShippedPolicy(OpaEngine(bundle, server.url, timeout_s=10.0))


class Response(BaseModel):
    """What the fake ``http.request`` answers."""

    text: str
    json_: dict[str, Any]


def _registry(calls: list[tuple[str, str]]) -> ToolRegistry:
    def http_request(url: str, method: str = "GET", body: Any = None) -> Response:
        """Call a URL.

        Args:
            url: Where to.
            method: HTTP method.
            body: What to send.
        """
        calls.append((method, url))
        return Response(text="EU customer rows", json_={"rows": ["EU customer rows"]})

    registry = ToolRegistry()
    register_json_tools(registry)
    registry.register_function(http_request, name="http.request", effect_from_args=effect_of_request,
                               tags=("egress", "network"))
    return registry


def _plan(post_url: str, *, query_between: bool = False) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {"id": "links", "tool": "json.query",
         "args": {"expression": "eu_url", "data": {"eu_url": EU_URL}}},
        {"id": "fetch", "tool": "http.request", "args": {"url": {"ref": "links.value"}}}]
    body = {"ref": "fetch.text"}
    if query_between:
        steps.append({"id": "pick", "tool": "json.query",
                      "args": {"expression": "rows[0]", "data": {"ref": "fetch.json_"}}})
        body = {"ref": "pick.value"}
    steps.append({"id": "post", "tool": "http.request",
                  "args": {"method": "POST", "url": post_url, "body": body}})
    return {"goal": "copy customer rows", "steps": steps}


@pytest.mark.parametrize("query_between", [False, True])
def test_data_fetched_from_an_eu_host_named_by_a_reference_may_not_go_to_a_us_host(
        engine, tmp_path, policy, query_between):
    calls: list[tuple[str, str]] = []
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    record = run_plan(runner, engine, _plan("https://x.us.example.com/in",
                                            query_between=query_between))
    assert record.status is RunStatus.FAILED
    assert calls == [("GET", EU_URL)]
    post = next(s for s in record.steps if s.step_id == "post")
    assert "data from region eu would go to host x.us.example.com in region us" in post.error


def test_the_same_data_may_go_to_a_host_in_its_own_region(engine, tmp_path, policy):
    calls: list[tuple[str, str]] = []
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    record = run_plan(runner, engine, _plan("https://y.eu.example.com/in", query_between=True))
    assert record.status is RunStatus.SUCCEEDED
    assert calls == [("GET", EU_URL), ("POST", "https://y.eu.example.com/in")]


def test_a_resumed_run_judges_a_source_step_that_ran_before_the_resume(engine, tmp_path, policy):
    # The resuming runner did not start fetch: its host comes from the stored outputs.
    calls: list[tuple[str, str]] = []
    first = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    record = run_plan(first, engine, _plan("https://x.us.example.com/in"))
    assert record.status is RunStatus.FAILED
    second = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    resumed = second.resume_sync(record.id)
    assert resumed.status is RunStatus.FAILED
    assert calls == [("GET", EU_URL)]
    post = next(s for s in resumed.steps if s.step_id == "post")
    assert "data from region eu would go to host x.us.example.com" in post.error


def test_a_source_whose_url_cannot_be_resolved_again_on_a_resume_denies_the_call(
        engine, tmp_path, policy):
    # Where the data came from is unknown (the stored output its URL came from is gone):
    # residency cannot judge the call, so it is denied, never let through.
    calls: list[tuple[str, str]] = []
    first = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy, threshold=8)
    record = run_plan(first, engine, _plan("https://x.us.example.com/in"))
    assert record.status is RunStatus.FAILED
    links_output = [path for path in (tmp_path / "artifacts").rglob("*") if path.is_file()
                    and EU_URL.encode() in path.read_bytes() and b"rows" not in path.read_bytes()]
    assert len(links_output) == 1
    links_output[0].unlink()
    second = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy, threshold=8)
    resumed = second.resume_sync(record.id)
    assert resumed.status is RunStatus.FAILED
    assert calls == [("GET", EU_URL)]
    post = next(s for s in resumed.steps if s.step_id == "post")
    assert "the URL a source step read from could not be resolved again (step fetch: an " \
           "output its URL came from is gone)" in post.error, post.error


@pytest.mark.parametrize("query_between", [False, True])
def test_data_fetched_from_an_eu_host_named_by_a_reference_may_not_reach_a_us_read_tool(
        engine, tmp_path, policy, query_between):
    # A read tool with a region is not egress: only this run-time check can see that the
    # host its data came from is in the EU (the plan decision saw a reference, not a host).
    calls: list[tuple[str, str]] = []
    registry = _registry(calls)

    def read_us(segment: Any) -> str:
        """Look a segment up in the US CRM.

        Args:
            segment: Segment to look up.
        """
        calls.append(("READ", str(segment)))
        return "0 rows"

    registry.register_function(read_us, name="crm.read_us", region="us")
    plan = _plan("https://x.us.example.com/in", query_between=query_between)
    last = plan["steps"][-2]["id"]  # fetch, or pick after it
    plan["steps"][-1] = {"id": "look", "tool": "crm.read_us",
                         "args": {"segment": {"ref": f"{last}.text" if last == "fetch"
                                              else f"{last}.value"}}}
    runner = make_runner(engine, registry, tmp_path, runtime_check=policy)
    record = run_plan(runner, engine, plan)
    assert record.status is RunStatus.FAILED
    assert calls == [("GET", EU_URL)]
    look = next(s for s in record.steps if s.step_id == "look")
    assert "data from region eu would go to tool crm.read_us in region us" in look.error
