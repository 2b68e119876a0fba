"""Residency at run time places a read where the policy does: by the policy data's
``tool_regions``, then the region of the host it calls (``host_regions``), then the region the
tool declares. EU data fetched from a URL an earlier step produced may not reach a read tool
the policy data places in the US, whether or not the tool declares a region itself."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from executor.checks import StepCall
from executor.records import RunStatus
from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.opa import OpaEngine
from tests.executor.runsupport import make_runner, run_plan
from tests.executor.test_runtime_residency import ShippedPolicy
from tests.support.fake_opa import FakeOpa
from tools import ToolRegistry
from tools.builtin.http import effect_of_request
from tools.builtin.jsonq import register_json_tools

EU_URL = "https://data.eu.example.com/customers"
US_CRM = "https://crm.us.example.com/lookup"


class RecordingPolicy(ShippedPolicy):
    """The shipped policies' runtime check (regions included), recording the steps it was
    asked about."""

    def __init__(self, engine) -> None:
        super().__init__(engine)
        self.asked: list[str] = []

    def check_step(self, call: StepCall):
        """Judge ``call`` with ``data.baton.step_decision``."""
        self.asked.append(call.step_id)
        return super().check_step(call)


class RegionBlindPolicy(RecordingPolicy):
    """A check that cannot say where the policy places a call (no ``step_region``)."""

    step_region = None  # type: ignore[assignment]


@pytest.fixture(scope="module", params=["embedded", "opa"])
def policy_engine(request):
    """Each policy engine, over the shipped bundle with ``crm.lookup`` placed in the US."""
    bundle = PolicyBundle.load(overrides={"tool_regions": {"crm.lookup": "us"}})
    if request.param == "embedded":
        yield EmbeddedEngine(bundle)
        return
    with FakeOpa() as server:
        yield OpaEngine(bundle, server.url, timeout_s=10.0)


class Response(BaseModel):
    """What the fake ``http.request`` answers."""

    text: str


def _registry(calls: list[tuple[str, str]]) -> ToolRegistry:
    def http_request(url: str, method: str = "GET", body: Any = None) -> Response:
        """Call a URL.

        Args:
            url: Where to.
            method: HTTP method.
            body: What to send.
        """
        calls.append((method, url))
        return Response(text="EU customer rows")

    def lookup(segment: Any, url: str = "https://crm.internal.example/lookup") -> str:
        """Look a segment up in a CRM (a read: not egress).

        Args:
            segment: Segment to look up.
            url: The CRM's address.
        """
        calls.append(("READ", str(segment)))
        return "0 rows"

    registry = ToolRegistry()
    register_json_tools(registry)
    registry.register_function(http_request, name="http.request", effect_from_args=effect_of_request,
                               tags=("egress", "network"))
    registry.register_function(lookup, name="crm.lookup")  # no region declared
    registry.register_function(lookup, name="crm.find")  # no region declared nor in the data
    return registry


def _plan(tool: str, **lookup_args: Any) -> dict[str, Any]:
    return {"goal": "look the customers up", "steps": [
        {"id": "links", "tool": "json.query",
         "args": {"expression": "eu_url", "data": {"eu_url": EU_URL}}},
        {"id": "fetch", "tool": "http.request", "args": {"url": {"ref": "links.value"}}},
        {"id": "look", "tool": tool, "args": {"segment": {"ref": "fetch.text"}, **lookup_args}}]}


def _look(record):
    return next(s for s in record.steps if s.step_id == "look")


def test_eu_data_may_not_reach_a_read_tool_the_policy_data_places_in_the_us(
        engine, tmp_path, policy_engine):
    calls: list[tuple[str, str]] = []
    policy = RecordingPolicy(policy_engine)
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    record = run_plan(runner, engine, _plan("crm.lookup"))
    assert record.status is RunStatus.FAILED
    assert calls == [("GET", EU_URL)]
    assert "data from region eu would go to tool crm.lookup in region us" in _look(record).error


def test_eu_data_may_not_reach_a_read_of_a_host_the_policy_data_places_in_the_us(
        engine, tmp_path, policy_engine):
    calls: list[tuple[str, str]] = []
    policy = RecordingPolicy(policy_engine)
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    record = run_plan(runner, engine, _plan("crm.find", url=US_CRM))
    assert record.status is RunStatus.FAILED
    assert calls == [("GET", EU_URL)]
    assert "data from region eu would go to tool crm.find in region us" in _look(record).error


def test_eu_data_may_reach_a_read_of_a_host_in_its_own_region(engine, tmp_path, policy_engine):
    calls: list[tuple[str, str]] = []
    policy = RecordingPolicy(policy_engine)
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    record = run_plan(runner, engine, _plan("crm.find", url="https://crm.eu.example.com/x"))
    assert record.status is RunStatus.SUCCEEDED
    assert calls == [("GET", EU_URL), ("READ", "EU customer rows")]
    assert "look" in policy.asked  # judged, and allowed


def test_a_read_tool_with_no_region_anywhere_is_not_judged(engine, tmp_path, policy_engine):
    # Residency gives it no region: no region's data goes anywhere by reaching it, so it is
    # not held up by a check (which would scan the fetched data for secrets, say).
    calls: list[tuple[str, str]] = []
    policy = RecordingPolicy(policy_engine)
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    record = run_plan(runner, engine, _plan("crm.find"))
    assert record.status is RunStatus.SUCCEEDED
    assert calls == [("GET", EU_URL), ("READ", "EU customer rows")]
    assert "look" not in policy.asked


def test_a_check_that_cannot_say_where_a_read_goes_judges_it(engine, tmp_path, policy_engine):
    # Unsure whether residency places the read in a region: judged, never let through unasked.
    calls: list[tuple[str, str]] = []
    policy = RegionBlindPolicy(policy_engine)
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    record = run_plan(runner, engine, _plan("crm.lookup"))
    assert record.status is RunStatus.FAILED
    assert "look" in policy.asked
    assert "data from region eu would go to tool crm.lookup in region us" in _look(record).error


def test_a_check_whose_region_answer_fails_judges_the_read(engine, tmp_path, policy_engine):
    calls: list[tuple[str, str]] = []
    policy = RecordingPolicy(policy_engine)

    def broken(tool: str, host: str | None, declared: str | None) -> str | None:
        raise ValueError("tool_regions is not a table")

    policy.step_region = broken  # type: ignore[method-assign]
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    record = run_plan(runner, engine, _plan("crm.find"))
    assert "look" in policy.asked
    assert record.status is RunStatus.SUCCEEDED  # the policy, asked, finds no region


def test_a_read_that_data_reaches_only_from_literal_urls_is_not_judged(
        engine, tmp_path, policy_engine):
    # The plan decision judged these flows: a literal URL's host was known then.
    calls: list[tuple[str, str]] = []
    policy = RecordingPolicy(policy_engine)
    runner = make_runner(engine, _registry(calls), tmp_path, runtime_check=policy)
    plan = _plan("crm.lookup")
    plan["steps"][1]["args"]["url"] = "https://api.internal.example/customers"
    record = run_plan(runner, engine, plan)
    assert record.status is RunStatus.SUCCEEDED
    assert "look" not in policy.asked
