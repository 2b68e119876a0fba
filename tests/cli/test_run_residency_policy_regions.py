"""``baton run`` places a read as the policy data does (``tool_regions``, ``host_regions``), through
the real services: EU data fetched from a URL an earlier step produced may not reach a tool the
data places in the US, and a read the data places nowhere is not held up by a check.

The runner asks the services' runtime check where residency places a read
(``PolicyRuntimeCheck.step_region``); a check that cannot say has every such read judged, and a
judged read over the fetched rows below is denied (they hold a key-like value).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_in_process import in_process_baton
from tests.support.http_server import Reply

CONFIG = """
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]

[policy.data]
egress_allowlist = ["127.0.0.1"]
tool_regions = { "table.aggregate" = "us" }
host_regions = { "127.0.0.1" = "eu" }
"""
# The EU rows: a value shaped like an AWS key, which a judged read is denied for.
EU_ROWS = "customer,amount,note\nc1,3,AKIAIOSFODNN7EXAMPLE\n"

Baton = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def baton(data_dir: Path, capsys) -> Iterator[Baton]:
    """``baton(*args, user="alice")`` in-process, in a workspace with the policy data above."""
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    with in_process_baton(capsys) as run:
        def as_user(*args: str, user: str = "alice") -> subprocess.CompletedProcess[str]:
            return run(*args, env={"COLUMNS": "200", "BATON_USER": user})

        yield as_user


def _plan(url: str, last: dict[str, Any]) -> dict[str, Any]:
    """``links`` gives the URL, ``fetch`` GETs it, ``last`` reads what came back."""
    return {"goal": "look the EU customers up", "steps": [
        {"id": "links", "tool": "json.query", "args": {"expression": "u", "data": {"u": url}}},
        {"id": "fetch", "tool": "http.request", "args": {"url": {"ref": "links.value"}}},
        {"id": "look", **last}]}


def _run(baton: Baton, data_dir: Path, plan: dict[str, Any]) -> tuple[dict, list[dict]]:
    """Plan, approve and run ``plan``: the run's record and its ledger events."""
    (data_dir / "plan.json").write_text(json.dumps(plan))
    planned = baton("plan", "--file", "plan.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    approved = baton("approve", plan_id, user="bob")
    assert approved.returncode == 0, approved.stderr + approved.stdout
    done = baton("run", plan_id, "--json")
    record = json.loads(done.stdout)
    audit = baton("audit", "show", "--subject", record["id"], "--json")
    assert audit.returncode == 0, audit.stderr
    return record, json.loads(audit.stdout)


def _checked(events: list[dict]) -> dict[str, dict]:
    """The runtime checks of the run, by step."""
    return {e["payload"]["step"]: e["payload"] for e in events if e["kind"] == "step_check"}


def _step(record: dict, sid: str) -> dict:
    return next(s for s in record["steps"] if s["step_id"] == sid)


def test_eu_data_may_not_reach_a_read_the_policy_data_places_in_the_us(
        baton, data_dir, http_server):
    http_server.script("/eu.csv", Reply(body=EU_ROWS))
    record, events = _run(baton, data_dir, _plan(http_server.url("/eu.csv"), {
        "tool": "table.aggregate",
        "args": {"csv": {"ref": "fetch.text"}, "column": "amount", "op": "sum"}}))
    assert record["status"] == "failed"
    assert http_server.count("/eu.csv") == 1
    error = _step(record, "look")["error"]
    assert "data from region eu would go to tool table.aggregate in region us" in error
    assert _checked(events)["look"]["allow"] is False


def test_a_read_the_policy_data_places_nowhere_is_not_held_up(baton, data_dir, http_server):
    http_server.script("/eu.csv", Reply(body=EU_ROWS))
    record, events = _run(baton, data_dir, _plan(http_server.url("/eu.csv"), {
        "tool": "json.query", "args": {"expression": "length(@)", "data": {"ref": "fetch.text"}}}))
    assert record["status"] == "succeeded", _step(record, "look")["error"]
    assert _step(record, "look")["output"] == {"value": len(EU_ROWS)}
    checked = _checked(events)
    assert "fetch" in checked  # the egress is judged, as ever
    assert "look" not in checked
