"""More outputs JSON cannot hold fail their step with their own code, on SQLite and PostgreSQL.

A dict key of 5,000 digits, a deque that contains itself, bytes that are not UTF-8 and an
output nested past the 254 levels pydantic writes as JSON each failed the step as a bare
``tool_crashed`` with pydantic's or Python's words; a NaN key was stored as "None".
"""

from __future__ import annotations

import collections
import sys
from typing import Any

import pytest

from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolRegistry
from tools.output_checks import OUTPUT_MAX_DEPTH


def _deque_inside_itself() -> collections.deque[Any]:
    d: collections.deque[Any] = collections.deque([1])
    d.append(d)
    return d


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def _registry(output: Any) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("x.big", idempotent=True)
    def big() -> Any:
        """Returns the output under test."""
        return output

    @registry.tool("x.echo")
    def echo(value: Any = None) -> Any:
        """Echoes its argument."""
        return value

    return registry


def _run(engine, tmp_path, output: Any):
    runner = make_runner(engine, _registry(output), tmp_path)
    return runner, run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "s", "tool": "x.big", "retry": {"max_attempts": 1}},
        {"id": "t", "tool": "x.echo", "args": {"value": {"ref": "s.value"}},
         "depends_on": ["s"]}]})


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("output", "code", "error"), [
    ({"v": {10 ** 5000: 1}}, "tool_output_int_too_long",
     f"output field value.v has a key that is an integer of more than "
     f"{sys.get_int_max_str_digits()} digits, longer than JSON text is written here; return "
     "it as a string"),
    ({"v": {float("nan"): 1}}, "tool_output_not_finite",
     "output field value.v has a key that is nan, not a finite number; JSON has no NaN or "
     "Infinity"),
    ({"q": _deque_inside_itself()}, "tool_output_cyclic",
     "output field value.q[1][1] refers back to value.q[1], which contains it (a cycle); JSON "
     "cannot hold an output that contains itself"),
    ({"blob": b"\x89PNG\xff"}, "tool_output_not_utf8",
     "output field value.blob is bytes that are not UTF-8 (byte 0x89 at offset 0); JSON holds "
     "text, not bytes: return them as base64 text (base64.b64encode(data).decode())"),
    (_nested(OUTPUT_MAX_DEPTH + 1), "tool_output_too_deep",
     f"output field {('value' + '[0]' * OUTPUT_MAX_DEPTH)[:120]}… is a list or dict nested "
     "255 levels deep, deeper than the 254 levels an output may nest as JSON; flatten it or "
     "return it as text"),
])
def test_an_output_json_cannot_hold_fails_its_step_with_its_code_and_a_resume_alike(
        engine, tmp_path, output, code, error):
    runner, record = _run(engine, tmp_path, output)
    error = f"x.big: {error}"
    assert record.status is RunStatus.FAILED
    steps = {s.step_id: s for s in record.steps}
    assert steps["s"].status is StepStatus.FAILED and steps["s"].error == error
    assert steps["t"].status is StepStatus.PENDING
    ledger = Ledger(engine)
    failure = ledger.events(subject=record.id, kinds=["attempt_failure"])[-1]
    assert failure.payload["code"] == code and not failure.payload["retryable"]

    again = runner.resume_sync(record.id)
    assert again.status is RunStatus.FAILED and again.error == f"step s failed: {error}"
    assert ledger.verify().ok


@pytest.mark.timeout(30)
def test_an_output_nested_as_deep_as_json_is_written_is_kept_and_passed_on(engine, tmp_path):
    _, record = _run(engine, tmp_path, _nested(OUTPUT_MAX_DEPTH))
    assert record.status is RunStatus.SUCCEEDED, record.error
    steps = {s.step_id: s for s in record.steps}
    assert steps["t"].output == {"value": _nested(OUTPUT_MAX_DEPTH)}
    assert Ledger(engine).verify().ok
