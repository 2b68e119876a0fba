"""The workspace outlives a run: what one run of a plan writes, the next run of the same
plan may read before its own write has run. So a workspace write that has not run yet in
this run still counts as a source of every workspace read (as the plan decision counts it),
and when its URL comes from another step that has not run either, where its data came from
is unknown and the call is denied.

Were such a write left out because it "has not run yet", EU data fetched from a URL an
earlier step produced would reach a US host on the second run of an approved plan, judged by
no one: the plan decision saw a reference, not a host, and the write's own check has no
destination region.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from executor.records import RunStatus
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tests.executor.test_runtime_residency import policy as shipped_policy
from tests.support.residency_workspace import EU_ROWS, EU_URL, US_URL, workspace_registry
from tools import ToolRegistry
from tools.builtin.jsonq import register_json_tools

policy = shipped_policy  # the fixture: the shipped policies through each engine


def _registry(workspace: Path, calls: list[tuple[str, str, Any]]) -> ToolRegistry:
    registry = workspace_registry(workspace, calls)
    register_json_tools(registry)  # the plan's links step
    return registry


# load and post start first (plan order); links, get and save after them, with no depends_on:
# the file post would send on the second run is the one save wrote on the first.
PLAN = {"goal": "send the customer file, then refresh it", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "customers.txt"}},
    {"id": "post", "tool": "http.request",
     "args": {"method": "POST", "url": US_URL, "body": {"ref": "load.text"}}},
    {"id": "links", "tool": "json.query", "args": {"expression": "u", "data": {"u": EU_URL}}},
    {"id": "get", "tool": "http.request", "args": {"url": {"ref": "links.value"}}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "customers.txt", "text": {"ref": "get.text"}, "overwrite": True}}]}


@pytest.mark.parametrize("concurrency", [1, 4])
def test_eu_data_a_first_run_wrote_does_not_reach_a_us_host_on_the_second_run(
        engine, tmp_path, policy, concurrency):
    calls: list[tuple[str, str, Any]] = []
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "customers.txt").write_text("no customers yet")
    registry = _registry(workspace, calls)
    plan_id = approved_plan(engine, PLAN)
    for _ in range(2):
        runner = make_runner(engine, registry, tmp_path, runtime_check=policy,
                             workspace=workspace)
        run_id = runner.create_run(plan_id, 1, Plan.model_validate(PLAN),
                                   requested_by="alice", concurrency=concurrency)
        record = runner.run_sync(run_id)
        assert record.status is RunStatus.FAILED
        post = next(s for s in record.steps if s.step_id == "post")
        assert "so where that data came from is unknown" in post.error
    assert ("POST", US_URL, EU_ROWS) not in calls
    assert [c for c in calls if c[0] == "POST"] == []
