"""A step output nested as deeply as the executor stores (254 levels) is served whole.

pydantic's JSON writer stops at 254 levels with its own wrappers counted (the step, the run,
the event's payload): the run and the ledger's events answered 500, and the event stream
was cut at that event, again at each reconnect. Built from built-in tools: json.query steps
that each wrap their input in more objects.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tools.output_checks import OUTPUT_MAX_DEPTH

CHUNK = 60  # levels one expression adds: json.query parses a few hundred at most


def _steps(levels: int) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    while levels > 0:
        wrap = min(CHUNK, levels)
        data = {"ref": f"{steps[-1]['id']}.value"} if steps else 1
        steps.append({"id": f"s{len(steps)}", "tool": "json.query",
                      "args": {"expression": "{a: " * wrap + "@" + "}" * wrap, "data": data}})
        levels -= wrap
    return steps


DEEP_PLAN = {"goal": "wrap a number in objects", "steps": _steps(OUTPUT_MAX_DEPTH)}


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


DEEPEST = {"value": _nested(OUTPUT_MAX_DEPTH)}


def _run_deep_plan(alice: httpx.Client, approvers: list[httpx.Client]) -> str:
    created = alice.post("/plans/document", json={"document": DEEP_PLAN})
    assert created.status_code == 201, created.text
    plan_id = created.json()["plan_id"]
    for approver in approvers:
        if alice.get(f"/plans/{plan_id}").json()["gate"]["status"] == "approved":
            break
        assert approver.post(f"/plans/{plan_id}/approve", json={}).status_code == 200
    started = alice.post("/runs", json={"plan_id": plan_id})
    assert started.status_code == 202, started.text
    return started.json()["id"]


def _streamed(client: httpx.Client, run_id: str, last_id: int | None = None) -> list[dict]:
    headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
    return _streamed_from(client, f"/runs/{run_id}/events", headers)


def _streamed_from(client: httpx.Client, path: str, headers: dict[str, str] | None = None,
                   ) -> list[dict]:
    """The events of a server-sent event stream, read to its end (the run's)."""
    with client.stream("GET", path, headers=headers or {}, timeout=60) as stream:
        assert stream.status_code == 200
        return [json.loads(line.removeprefix("data: "))
                for line in stream.iter_lines() if line.startswith("data: ")]


def test_a_run_with_an_output_nested_as_deep_as_allowed_is_served_whole(store_client_for):
    alice = store_client_for("alice")
    run_id = _run_deep_plan(alice, [store_client_for("bob"), store_client_for("carol")])

    events = _streamed(alice, run_id)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end", kinds
    outputs = [e["payload"]["output"] for e in events if e["kind"] == "attempt_success"]
    assert len(outputs) == len(DEEP_PLAN["steps"]) and outputs[-1] == DEEPEST

    record = alice.get(f"/runs/{run_id}")
    assert record.status_code == 200, record.text
    assert record.json()["status"] == "succeeded"
    assert record.json()["steps"][-1]["output"] == DEEPEST

    for params in ({"subject": run_id}, {}):
        read = alice.get("/ledger/events", params=params)
        assert read.status_code == 200, read.text
        assert [e["seq"] for e in read.json() if e["subject"] == run_id] == \
            [e["seq"] for e in events]
    assert [r["id"] for r in alice.get("/runs").json()] == [run_id]


def test_a_reconnected_stream_goes_on_past_an_output_nested_as_deep_as_allowed(
        store_client_for):
    alice = store_client_for("alice")
    run_id = _run_deep_plan(alice, [store_client_for("bob"), store_client_for("carol")])
    events = _streamed(alice, run_id)
    deepest = next(e for e in events if e["payload"].get("output") == DEEPEST)

    again = _streamed(alice, run_id, last_id=deepest["seq"] - 1)
    assert [e["seq"] for e in again] == [e["seq"] for e in events if e["seq"] >= deepest["seq"]]
    assert again[0]["payload"]["output"] == DEEPEST


def test_the_web_page_serves_a_run_with_an_output_nested_as_deep_as_allowed(server, client_for):
    from tests.web.test_web_forms import sign_in

    alice = client_for("alice")
    run_id = _run_deep_plan(alice, [client_for("bob"), client_for("carol")])
    events = _streamed(alice, run_id)
    web, page = sign_in(server, "alice")
    assert page.status_code == 200
    try:
        assert [e["seq"] for e in _streamed_from(web, f"/runs/{run_id}/events")] == \
            [e["seq"] for e in events]
        last = len(DEEP_PLAN["steps"]) - 1
        assert web.get(f"/runs/{run_id}").status_code == 200
        assert web.get(f"/runs/{run_id}/state").status_code == 200
        assert web.get(f"/runs/{run_id}/steps/{last}/output").json() == DEEPEST
    finally:
        web.close()
