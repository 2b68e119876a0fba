"""A database failure while re-resolving a run-time residency source stops the run (resumable)
like every other database failure: it is not the step's fault, so it is neither a denial that
fails the step nor a source quietly left out of the residency check."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from executor.artifact_rows import DatabaseArtifactStore
from executor.checks import StepCall, StepDecision
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.runner import Runner
from executor.scheduling import StepStatus
from executor.store.db import StoreError, make_engine
from planner.plan import Plan
from tests.executor.runsupport import HostCheck, approved_plan
from tools import ToolRegistry
from tools.builtin.http import effect_of_request

EU_URL = "https://data.eu.example.com/customers"
US_URL = "https://x.us.example.com/in"
# fetch's URL comes from the output of links; post receives nothing from fetch, but runs
# after it, so residency judges post by the host fetch read from.
PLAN = Plan.model_validate({"goal": "copy customer rows", "steps": [
    {"id": "links", "tool": "links"},
    {"id": "fetch", "tool": "http.request", "args": {"url": {"ref": "links.value"}}},
    {"id": "post", "tool": "http.request", "depends_on": ["fetch"],
     "args": {"method": "POST", "url": US_URL, "body": "a summary"}}]})


class Response(BaseModel):
    """What the fake ``http.request`` answers."""

    text: str


class RecordingCheck:
    """Allows every call, recording it."""

    def __init__(self) -> None:
        self.calls: list[StepCall] = []

    def check_step(self, call: StepCall) -> StepDecision:
        """Allow ``call``."""
        self.calls.append(call)
        return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)


def _registry(calls: list[tuple[str, str]]) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("links")
    def links() -> str:
        """Where the customer rows are."""
        return EU_URL

    def http_request(url: str, method: str = "GET", body: Any = None) -> Response:
        """Call a URL.

        Args:
            url: Where to.
            method: HTTP method.
            body: What to send.
        """
        calls.append((method, url))
        return Response(text="EU customer rows")

    registry.register_function(http_request, name="http.request", effect_from_args=effect_of_request,
                               tags=("egress", "network"))
    return registry


def test_a_database_failure_resolving_a_source_url_again_stops_the_run_for_a_resume(engine,
                                                                                    tmp_path):
    calls: list[tuple[str, str]] = []
    registry = _registry(calls)
    # Every output is an artifact row: resolving fetch's URL again reads links' row.
    artifacts = DatabaseArtifactStore(engine, tmp_path / "artifacts", threshold_bytes=8)
    first = Runner(engine, Ledger(engine), registry, HostCheck(EU_URL), artifacts=artifacts)
    run_id = first.create_run(approved_plan(engine, PLAN), 1, PLAN, requested_by="alice")
    assert first.run_sync(run_id).status is RunStatus.FAILED  # post denied: a person resumes
    assert calls == [("GET", EU_URL)]

    gone = tmp_path / "gone"
    dead = make_engine(f"sqlite:///{gone / 'baton.db'}")
    gone.rmdir()  # nothing can open that database
    artifacts.engine = dead
    check = RecordingCheck()
    second = Runner(engine, Ledger(engine), registry, check, artifacts=artifacts)
    with pytest.raises(StoreError, match="the database failed while reading artifact"):
        second.resume_sync(run_id)
    stopped = second.store.get(run_id)
    assert stopped.status is RunStatus.RUNNING and stopped.owner == second.owner_id
    post = next(s for s in stopped.steps if s.step_id == "post")
    assert post.status is StepStatus.PENDING and post.error is None  # not failed: not its fault
    assert check.calls == [] and calls == [("GET", EU_URL)]  # judged by nobody, never sent

    artifacts.engine = engine  # the database is back
    resumed = second.resume_sync(run_id)
    assert resumed.status is RunStatus.SUCCEEDED
    assert [c.source_hosts for c in check.calls] == [("data.eu.example.com",)]
    assert calls == [("GET", EU_URL), ("POST", US_URL)]
    assert Ledger(engine).verify().ok
