"""A call may declare a longer deadline in its arguments (``timeout_from_args``): http.request's
``timeout_s`` above the step's limit used to be cut off at that limit (60 s, or the step's).

The attempt's limit becomes the declared one plus a margin (the tool's own timeout fires
first, with its clearer error), never past 24 h, from the arguments as resolved.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from executor.calls import TOOL_DEADLINE_MARGIN_S, attempt_timeout_s
from executor.records import RunStatus
from tests.executor.runsupport import HostCheck, make_runner, run_plan
from tests.support.http_server import Reply
from tools import ToolContext, ToolRegistry, register_http_tool
from tools.builtin.http import register_http_request
from tools.builtin.jsonq import register_json_tools
from tools.registry import MAX_TIMEOUT_S


def _declaring(hook: Any) -> Any:
    registry = ToolRegistry()

    @registry.tool("x.wait", timeout_s=60, timeout_from_args=hook)
    def wait(seconds: float = 0) -> bool:
        """Wait.

        Args:
            seconds: How long.
        """
        return True

    return registry.get("x.wait")


@pytest.mark.parametrize("declared, configured, limit", [
    (None, 60.0, 60.0),                                # declares nothing: the configured limit
    (10.0, 60.0, 60.0),                                # shorter than configured: configured
    (90.0, 60.0, 90.0 + TOOL_DEADLINE_MARGIN_S),       # longer: it, plus the margin
    (90.0, 0.5, 90.0 + TOOL_DEADLINE_MARGIN_S),        # a step's lower limit is lengthened too
    (MAX_TIMEOUT_S, 60.0, MAX_TIMEOUT_S),              # never past 24 h, margin or not
    (1e12, 60.0, MAX_TIMEOUT_S),
    (math.inf, 60.0, 60.0),                            # not a deadline: configured
    (math.nan, 60.0, 60.0),
    (-5.0, 60.0, 60.0),
    ("600", 60.0, 60.0),
    (True, 60.0, 60.0),
])
def test_the_attempt_limit_is_the_longer_of_the_configured_and_the_declared(declared, configured,
                                                                            limit):
    spec = _declaring(lambda args: declared)
    assert attempt_timeout_s(spec, {}, configured) == limit


def test_a_declaration_that_fails_leaves_the_configured_limit():
    def broken(args: Any) -> float:
        raise TypeError("unreadable arguments")

    assert attempt_timeout_s(_declaring(broken), {"seconds": "x"}, 60.0) == 60.0


def test_a_tool_without_the_hook_keeps_its_limit():
    registry = ToolRegistry()
    register_json_tools(registry)
    assert attempt_timeout_s(registry.get("json.query"), {"timeout_s": 500}, 30.0) == 30.0


def _http_run(engine, tmp_path, http_server, steps: list[dict[str, Any]]):
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    register_json_tools(registry)
    runner = make_runner(engine, registry, tmp_path, runtime_check=HostCheck(http_server.url("/")))
    return run_plan(runner, engine, {"goal": "g", "steps": steps})


def _slow_get(timeout_s: Any, **step: Any) -> dict[str, Any]:
    return {"id": "get", "tool": "http.request", "timeout_s": 0.5, "retry": {"max_attempts": 1},
            "args": {"url": "/slow", "timeout_s": timeout_s}, **step}


@pytest.mark.parametrize("given", ["literal", "reference"])
def test_a_request_may_take_the_time_its_timeout_s_allows(engine, tmp_path, http_server, given):
    """The step allows 0.5 s, the request 2 s, the server answers after 1 s: it succeeds."""
    http_server.script("/slow", Reply(delay_s=1.0, body={"ok": True}))
    step = _slow_get(2)
    step["args"]["url"] = http_server.url("/slow")
    steps = [step]
    if given == "reference":  # resolved before the attempt: the deadline is the resolved value
        steps.insert(0, {"id": "limit", "tool": "json.query",
                         "args": {"expression": "t", "data": {"t": 2}}})
        step["args"]["timeout_s"] = {"ref": "limit.value"}
    record = _http_run(engine, tmp_path, http_server, steps)
    assert record.status is RunStatus.SUCCEEDED, record.error
    assert record.steps[-1].attempts == 1


def test_the_tool_s_own_timeout_fires_first_and_its_error_is_recorded(engine, tmp_path,
                                                                       http_server):
    http_server.script("/slow", Reply(delay_s=3.0))
    step = _slow_get(0.8)
    step["args"]["url"] = http_server.url("/slow")
    record = _http_run(engine, tmp_path, http_server, [step])
    assert record.status is RunStatus.FAILED
    assert record.steps[0].error.startswith(f"GET {http_server.url('/slow')} timed out after 0.8s")


@pytest.mark.parametrize("limit, wanted, own", [
    (None, 30.0, 30.0),   # outside the executor: as asked
    (60.0, 30.0, 30.0),   # well within the attempt's limit: as asked
    (30.0, 30.0, 30.0 - TOOL_DEADLINE_MARGIN_S),  # equal limits: the tool's ends first
    (0.5, 30.0, 0.45),    # a short limit: a tenth of it is the margin
])
def test_a_tool_s_own_timeout_ends_a_margin_before_the_attempt_s_limit(limit, wanted, own):
    context = ToolContext(idempotency_key="k", time_limit_s=limit)
    assert context.own_timeout_s(wanted) == pytest.approx(own)


def test_a_step_limit_below_the_request_s_default_records_the_request_s_own_timeout(
        engine, tmp_path, http_server):
    # Without the cut the request waited its default 30 s and the executor's bare
    # "attempt timed out" was recorded, saying nothing of which call timed out.
    http_server.script("/slow", Reply(delay_s=3.0))
    step = {"id": "get", "tool": "http.request", "timeout_s": 0.5, "retry": {"max_attempts": 1},
            "args": {"url": http_server.url("/slow")}}
    record = _http_run(engine, tmp_path, http_server, [step])
    assert record.status is RunStatus.FAILED
    assert record.steps[0].error.startswith(f"GET {http_server.url('/slow')} timed out after 0.45s")


def test_a_configured_http_tool_s_own_timeout_is_recorded_not_the_attempt_s(engine, tmp_path,
                                                                          http_server):
    # The tool's timeout_s is both its request's timeout and its attempt's limit: the two
    # raced, and which error was recorded depended on timing.
    http_server.script("/hook", Reply(delay_s=3.0))
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.note", url=http_server.url("/hook"), method="POST",
                       description="Add a note.", timeout_s=1.0,
                       retry={"max_attempts": 1})
    runner = make_runner(engine, registry, tmp_path, runtime_check=HostCheck(""))
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "note", "tool": "crm.note", "args": {}}]})
    assert record.status is RunStatus.FAILED
    assert record.steps[0].error.startswith(f"POST {http_server.url('/hook')} timed out after 0.9s")
