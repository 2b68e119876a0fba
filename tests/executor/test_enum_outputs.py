"""An enum in an async tool's output never runs code of the tool's own on the event loop, and
counts as what pydantic writes of it.

An enum member was taken for a 2-byte scalar: one whose value shared a list at each of 21
levels was shaped on the event loop for 13 s and stored 226 MB, and one whose value was a model
with a computed field calling ``sys.exit()`` ran it on the loop, the ``SystemExit`` leaving
``asyncio.run`` (``run_sync`` died, the run left ``running``). So did an enum's ``_missing_``
while an output model read text as a member.
"""

from __future__ import annotations

import asyncio
import enum
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from executor.calls import call_tool, error_code, error_text
from executor.records import RunStatus
from executor.scheduling import StepStatus
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolContext, ToolRegistry, ToolSpec
from tests.support.exiting_model import Exiting

CONTEXT = ToolContext(idempotency_key="k-1", run_id="r-1", step_id="s-1", attempt=1)
ONE_ATTEMPT = {"goal": "g", "steps": [{"id": "s", "tool": "x.out", "retry": {"max_attempts": 1}}]}


class Held(enum.Enum):
    A = Exiting()


class Color(enum.Enum):
    RED = "red"

    @classmethod
    def _missing_(cls, value: object) -> Color:
        raise SystemExit("_missing_ gave up")


class Colored(BaseModel):
    color: Color


def _member(value: Any) -> enum.Enum:
    member = enum.Enum("Made", {"A": 1}).A
    member._value_ = value  # set after the class is made, which hashes its values
    return member


def _shared(levels: int) -> Any:
    node: Any = "x" * 10
    for _ in range(levels):
        node = [node, node]
    return node


def _registry(output: Any, *, kind: str = "async", model: Any = Any) -> ToolRegistry:
    registry = ToolRegistry()
    if kind == "sync":
        def out() -> Any:
            """Returns the output under test."""
            return output()
    else:
        async def out() -> Any:  # type: ignore[misc]
            """Returns the output under test."""
            return output()
    out.__annotations__["return"] = model
    registry.tool("x.out", timeout_s=5)(out)
    return registry


def _contained(run: Any) -> Any:
    """``run()``, whose SystemExit must not leave it (caught here, it fails the test)."""
    try:
        return run()
    except SystemExit as exc:
        escaped = str(exc)
    pytest.fail(f"SystemExit left the event loop: {escaped}", pytrace=False)


def _call(registry: ToolRegistry) -> Any:
    return _contained(
        lambda: asyncio.run(call_tool(registry.get("x.out"), {}, CONTEXT, timeout_s=5)))


CRASHING = {
    "enum-value": (lambda: {"e": Held.A}, Any, "SystemExit: computed field gave up"),
    "enum-missing": (lambda: {"color": "RED"}, Colored, "SystemExit: _missing_ gave up"),
}


@pytest.mark.parametrize("case", list(CRASHING))
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_system_exit_while_an_enum_is_read_fails_the_attempt(kind, case):
    output, model, text = CRASHING[case]
    outcome = _call(_registry(output, kind=kind, model=model))
    assert isinstance(outcome.error, SystemExit)
    assert error_code(outcome.error) == "tool_crashed"
    assert error_text(outcome.error) == text


@pytest.mark.parametrize("case", list(CRASHING))
def test_a_run_whose_enum_calls_sys_exit_fails_its_step_and_ends(engine, tmp_path, case):
    output, model, text = CRASHING[case]
    runner = make_runner(engine, _registry(output, model=model), tmp_path)
    record = _contained(lambda: run_plan(runner, engine, ONE_ATTEMPT))
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.status is StepStatus.FAILED
    assert step.error == text


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_enum_whose_value_is_shared_at_each_of_40_levels_is_refused(kind):
    outcome = _call(_registry(lambda: {"e": _member(_shared(40))}, kind=kind))
    assert error_code(outcome.error) == "tool_output_too_large"  # type: ignore[arg-type]


def _on_loop(spec: ToolSpec) -> tuple[int, Any]:
    async def main() -> tuple[int, Any]:
        return threading.get_ident(), await call_tool(spec, {}, CONTEXT, timeout_s=30)
    return asyncio.run(main())


def test_an_enum_written_out_at_length_is_shaped_off_the_event_loop(shaped_in):
    loop_thread, outcome = _on_loop(_registry(lambda: {"e": _member(_shared(14))}).get("x.out"))
    assert outcome.error is None
    assert outcome.output["value"]["e"] == _shared(14)
    assert shaped_in and loop_thread not in shaped_in


def test_a_small_plain_enum_is_shaped_on_the_event_loop(shaped_in):
    class Plain(enum.Enum):
        RED = "red"

    class Out(BaseModel):
        color: Plain

    spec = _registry(lambda: {"color": "red"}, model=Out).get("x.out")
    loop_thread, outcome = _on_loop(spec)
    assert outcome.output == {"color": "red"}
    assert shaped_in == [loop_thread]


def test_a_system_exit_while_a_light_output_is_shaped_fails_the_attempt(monkeypatch):
    # Whatever runs there: a light output runs no code of the tool's own, but if one did, its
    # SystemExit must not leave the event loop.
    def exiting(self: ToolSpec, result: Any) -> Any:
        raise SystemExit("shaping gave up")

    monkeypatch.setattr(ToolSpec, "shape_prechecked", exiting)
    outcome = _call(_registry(lambda: {"n": 1}))
    assert isinstance(outcome.error, SystemExit)
    assert error_code(outcome.error) == "tool_crashed"
