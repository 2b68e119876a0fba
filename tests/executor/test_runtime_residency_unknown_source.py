"""A source whose host cannot be told when a call runs (a workspace write that has not run yet,
its URL from a step that has not run either) denies the call only where residency could
judge that host: when the policy data could place it in a region and the call is one that
data of a region may not reach. When the denial stays, what it advises can be done: never an
order of the steps that makes a cycle.

Before, such a source denied every checked call: a plan that reads a file, POSTs it, fetches
the URL the answer names and saves that page could never run, even with no ``host_regions``
at all, and the denial asked to run the POST after the fetch, which needs the POST's answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from executor.records import RunStatus
from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.opa import OpaEngine
from policies.residency import UnknownRegion, regions_hosts_may_have
from tests.executor.runsupport import make_runner, run_plan
from tests.executor.test_runtime_residency import ShippedPolicy
from tests.support.fake_opa import FakeOpa
from tests.support.residency_workspace import EU_URL, workspace_registry
from tools import ToolRegistry
from tools.builtin.files import register_file_tools
from tools.builtin.http import effect_of_request
from tools.builtin.jsonq import register_json_tools

NEXT_PAGE = "https://api.internal.example/page/2"
NO_REGIONS = {"host_regions": {}, "tool_regions": {}}


class PolicyWithoutRegions:
    """A runtime check of the shipped policies written before ``regions_hosts_may_have``
    existed (a check of a user's own may lack it too): it cannot say which regions hosts
    may have."""

    def __init__(self, engine) -> None:
        self.shipped = ShippedPolicy(engine)

    def check_step(self, call):
        """Judge ``call`` as the shipped runtime check does."""
        return self.shipped.check_step(call)

    def step_region(self, tool: str, host: str | None, declared: str | None):
        """Where the policy places a call of ``tool`` to ``host``."""
        return self.shipped.step_region(tool, host, declared)


@pytest.fixture(scope="module", params=["embedded", "opa"])
def engine_with(request):
    """``engine_with(**data)``: one backend judging with the shipped rules and ``data``."""
    with FakeOpa() as server:
        def make(**data: Any):
            bundle = PolicyBundle.load(overrides=data)
            if request.param == "embedded":
                return EmbeddedEngine(bundle)
            return OpaEngine(bundle, server.url, timeout_s=60.0)
        yield make


class Page(BaseModel):
    """What the fake ``http.request`` answers: a page that names the next one."""

    text: str
    json_: dict[str, Any]


def _paging_registry(workspace: Path, calls: list[tuple[str, str]]) -> ToolRegistry:
    def http_request(url: str, method: str = "GET", body: Any = None) -> Page:
        """Call a URL.

        Args:
            url: Where to.
            method: HTTP method.
            body: What to send.
        """
        calls.append((method, url))
        return Page(text="page", json_={"next": NEXT_PAGE})

    registry = ToolRegistry()
    register_file_tools(registry, workspace=workspace)
    registry.register_function(http_request, name="http.request", tags=("egress", "network"),
                               effect_from_args=effect_of_request)
    return registry


# The reviewer's plan: page's URL comes from ask's answer, and save writes what page fetched
# to the workspace, which cfg reads: on a later run ask may send it.
PAGING = {"goal": "search, then keep the page the answer names", "steps": [
    {"id": "cfg", "tool": "files.read", "args": {"path": "cfg.txt"}},
    {"id": "ask", "tool": "http.request",
     "args": {"method": "POST", "url": "https://api.internal.example/search",
              "body": {"ref": "cfg.text"}}},
    {"id": "page", "tool": "http.request", "args": {"url": {"ref": "ask.json_.next"}}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "page.txt", "text": {"ref": "page.text"}}}]}


def _run_paging(engine, tmp_path, policy):
    calls: list[tuple[str, str]] = []
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "cfg.txt").write_text("query")
    runner = make_runner(engine, _paging_registry(workspace, calls), tmp_path,
                         runtime_check=policy, workspace=workspace)
    return run_plan(runner, engine, PAGING), calls


def _step(record, sid: str):
    return next(s for s in record.steps if s.step_id == sid)


def test_a_plan_no_region_could_apply_to_runs(engine, tmp_path, engine_with):
    record, calls = _run_paging(engine, tmp_path, ShippedPolicy(engine_with(**NO_REGIONS)))
    assert record.status is RunStatus.SUCCEEDED, [s.error for s in record.steps]
    assert calls == [("POST", "https://api.internal.example/search"), ("GET", NEXT_PAGE)]


def test_a_check_that_cannot_say_which_regions_hosts_have_keeps_the_denial(
        engine, tmp_path, engine_with):
    # Unsure whether the host could be placed in a region: denied, never let through.
    record, calls = _run_paging(engine, tmp_path, PolicyWithoutRegions(engine_with(**NO_REGIONS)))
    assert record.status is RunStatus.FAILED
    assert calls == []


def test_a_denial_kept_never_advises_an_order_that_makes_a_cycle(engine, tmp_path, engine_with):
    # host_regions could place page's host: ask stays denied, but running it after page
    # cannot be done (page needs ask's answer).
    record, calls = _run_paging(engine, tmp_path, ShippedPolicy(engine_with()))
    assert record.status is RunStatus.FAILED
    assert calls == []
    error = _step(record, "ask").error
    assert "so where that data came from is unknown" in error, error
    assert "run after" not in error, error
    assert "write step page's URL in the plan" in error, error


# post reads the file save writes, before get and save run (get depends on post): get's URL
# comes from links, which has not run either.
READ_FIRST = {"goal": "copy eu data", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "tmp.txt"}},
    {"id": "post", "tool": "http.request",
     "args": {"method": "POST", "url": "https://x.us.example.com/in",
              "body": {"ref": "load.text"}}},
    {"id": "links", "tool": "json.query", "args": {"expression": "u", "data": {"u": EU_URL}}},
    {"id": "get", "tool": "http.request", "args": {"url": {"ref": "links.value"}},
     "depends_on": ["post"]},
    {"id": "save", "tool": "files.write",
     "args": {"path": "tmp.txt", "text": {"ref": "get.text"}, "overwrite": True}}]}


def _run_read_first(engine, tmp_path, policy, plan):
    calls: list[tuple[str, str, Any]] = []
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "tmp.txt").write_text("old")
    registry = workspace_registry(workspace, calls)
    register_json_tools(registry)
    runner = make_runner(engine, registry, tmp_path, runtime_check=policy, workspace=workspace)
    return run_plan(runner, engine, plan, concurrency=1), calls, workspace


def test_a_denial_advises_running_after_the_step_the_url_comes_from(
        engine, tmp_path, engine_with):
    # Running post after get makes a cycle (get depends on post); after links, get's URL is
    # known when post runs.
    record, calls, _ = _run_read_first(engine, tmp_path, ShippedPolicy(engine_with()), READ_FIRST)
    assert record.status is RunStatus.FAILED
    assert calls == []
    error = _step(record, "post").error
    assert "make step post run after step links (depends_on)" in error, error
    assert "after step get" not in error, error


def test_a_write_placed_in_no_region_is_not_held_up_by_a_host_not_known(
        engine, tmp_path, engine_with):
    # A copy inside the workspace sends nothing out and residency places it nowhere: no
    # region's data leaves by reaching it, wherever it came from.
    plan = {**READ_FIRST, "steps": [
        READ_FIRST["steps"][0],
        {"id": "post", "tool": "files.write",
         "args": {"path": "copy.txt", "text": {"ref": "load.text"}}},
        *READ_FIRST["steps"][2:]]}
    record, calls, workspace = _run_read_first(engine, tmp_path, ShippedPolicy(engine_with()),
                                               plan)
    assert record.status is RunStatus.SUCCEEDED, [s.error for s in record.steps]
    assert (workspace / "copy.txt").read_text() == "old"
    assert calls == [("GET", EU_URL, None)]


@pytest.mark.parametrize(("data", "regions"), [
    ({}, set()),
    ({"host_regions": {}}, set()),
    ({"host_regions": {"*.eu.example.com": "eu", "x.example.org": None}}, {"eu"}),
    ({"host_regions": {"a.example": "eu", "b.example": "us"}, "tool_regions": {"t": "apac"}},
     {"eu", "us"}),
])
def test_the_regions_hosts_may_have_are_those_host_regions_gives(data, regions):
    assert regions_hosts_may_have(data) == regions


@pytest.mark.parametrize("data", [{"host_regions": ["eu"]}, {"host_regions": {"a": ["eu"]}}])
def test_host_regions_of_another_shape_cannot_say_which_regions(data):
    with pytest.raises(UnknownRegion):
        regions_hosts_may_have(data)
