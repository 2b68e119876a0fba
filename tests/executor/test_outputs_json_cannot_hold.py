"""A tool output JSON cannot hold fails its step naming the field, as a NaN output does.

An output that contains itself used to hang ``baton run``, ``resume`` and ``worker`` forever
(the output check walked the cycle with the event loop held, memory growing and the lease
never renewed); an integer of over 4,300 digits ended the run as an internal error when its
result was committed, and a resume repeated it; an output sharing one list at each of 60
levels passed the check and then held the run loop writing out its 2**60 items.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolRegistry

SECRET = "s3cret-cycle-value-77"


def _self_containing() -> dict[str, Any]:
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    return d


def _doubled(levels: int) -> list[Any]:
    """One list shared at each of ``levels`` levels: 2**levels items once written out."""
    shared: Any = [1]
    for _ in range(levels):
        shared = [shared, shared]
    return shared


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


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("output", "code", "error"), [
    (_self_containing(), "tool_output_cyclic",
     "x.big: output field value.self.self refers back to value.self, which contains it (a "
     "cycle); JSON cannot hold an output that contains itself"),
    ({"v": 10 ** 5000}, "tool_output_int_too_long",
     f"x.big: output field value.v is an integer of more than {sys.get_int_max_str_digits()} "
     "digits, longer than JSON text is written here; return it as a string"),
    ({"v": _doubled(60)}, "tool_output_too_large",
     f"x.big: output field value.v{'[0]' * 32} would take at least 1,610,612,733 bytes as JSON, "
     "over the 1,000,000,000 an output may take (a value shared by several fields is written "
     "out at each)"),
])
def test_an_output_json_cannot_hold_fails_its_step_and_a_resume_fails_it_alike(
        engine, tmp_path, output, code, error):
    runner = make_runner(engine, _registry(output), tmp_path, secrets={"TOKEN": SECRET})
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "s", "tool": "x.big", "retry": {"max_attempts": 1}},
        {"id": "t", "tool": "x.echo", "args": {"value": {"ref": "s.value"}},
         "depends_on": ["s"]}]})
    assert record.status is RunStatus.FAILED
    steps = {s.step_id: s for s in record.steps}
    assert steps["s"].status is StepStatus.FAILED and steps["s"].error == error
    assert steps["t"].status is StepStatus.PENDING
    assert record.error == f"step s failed: {error}"
    ledger = Ledger(engine)
    failure = ledger.events(subject=record.id, kinds=["attempt_failure"])[-1]
    assert failure.payload["code"] == code and not failure.payload["retryable"]

    again = runner.resume_sync(record.id)
    assert again.status is RunStatus.FAILED and again.error == f"step s failed: {error}"
    assert "internal error" not in again.error
    assert ledger.verify().ok
