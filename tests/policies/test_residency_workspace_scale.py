"""The workspace writes that feed every workspace step are listed once in the policy input
(``workspace_sources``), not copied into each step's ``data_sources``: a plan of n writes
made n² entries, and the embedded interpreter took seconds to read them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input, data_sources
from tests.support.policy_tools import policy_registry

ALICE = Requester(id="alice", roles=("analyst",))
TUESDAY_10 = PolicyContext(now=datetime(2024, 6, 4, 10, tzinfo=UTC))
EU_URL = "https://data.eu.example.com/customers"
US_URL = "https://x.us.example.com/in"


def _step(id: str, tool: str, **args: Any) -> dict[str, Any]:  # noqa: A002 - the wire field
    return {"id": id, "tool": tool, "args": args}


def _input(plan: Plan) -> dict[str, Any]:
    return build_policy_input(plan, policy_registry(), requester=ALICE, context=TUESDAY_10)


def _judged_sources(document: dict[str, Any]) -> dict[str, set[str]]:
    # What residency.rego reads as each step's sources.
    shared = set(document["workspace_sources"])
    return {s["id"]: (set(s["data_sources"]) | (shared if s["reads_workspace"] else set()))
            - {s["id"]} for s in document["steps"]}


def test_the_input_grows_linearly_with_the_workspace_writes():
    n = 200
    plan = Plan.model_validate({"goal": "g", "steps": [
        _step(f"w{i}", "files.write", path=f"o{i}.txt", text="x") for i in range(n)]})
    document = _input(plan)
    entries = sum(len(s["data_sources"]) for s in document["steps"])
    assert entries + len(document["workspace_sources"]) <= 2 * n
    assert all(s["reads_workspace"] for s in document["steps"])
    expected = data_sources(plan, policy_registry())
    assert _judged_sources(document) == {k: set(v) for k, v in expected.items()}


def _mixed_plan() -> Plan:
    return Plan.model_validate({"goal": "g", "steps": [
        _step("get", "http.request", url=EU_URL),
        _step("key", "http.request", url="https://keys.example.com/k"),
        # A write's own sources feed every workspace step too.
        _step("save", "files.write", path="a.txt", text={"ref": "get.text"}),
        {**_step("note", "files.write", path="b.txt", text="hi"), "depends_on": ["key"]},
        _step("load", "files.read", path="c.txt"),
        # Fed through the workspace by way of a step that is not a workspace step.
        _step("sum", "table.aggregate", csv={"ref": "load.text"}, column="x", op="sum"),
        _step("post", "http.request", method="POST", url=US_URL, body={"ref": "sum.value"}),
        _step("alone", "json.query", expression="a", data={"a": 1}),
        {**_step("after", "json.query", expression="a", data={"a": 1}), "depends_on": ["alone"]}]})


def test_the_input_judges_the_same_sources_as_data_sources():
    plan = _mixed_plan()
    document = _input(plan)
    expected = {k: set(v) for k, v in data_sources(plan, policy_registry()).items()}
    assert _judged_sources(document) == expected
    assert expected["post"] == {"get", "key", "save", "note", "load", "sum"}
    assert expected["after"] == {"alone"}
    assert sorted(document["workspace_sources"]) == ["get", "key", "note", "save"]
    steps = {s["id"]: s for s in document["steps"]}
    assert steps["post"]["reads_workspace"] and not steps["alone"]["reads_workspace"]
    assert steps["post"]["data_sources"] == ["load", "sum"]


def test_data_fed_through_the_workspace_and_an_intermediate_step_is_denied(engine):
    decision = engine.decide(_input(_mixed_plan()))
    assert ("step post: data from step get (region eu) would go to host x.us.example.com in "
            "region us") in decision.deny


def test_a_plan_with_no_workspace_write_lists_no_workspace_sources():
    document = _input(Plan.model_validate({"goal": "g", "steps": [
        _step("load", "files.read", path="c.txt")]}))
    assert document["workspace_sources"] == []
    assert document["steps"][0]["data_sources"] == []
