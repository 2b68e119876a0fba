"""A ToolError whose code is not usable text fails its step once, with a code JSON can hold.

``raise ToolError(msg, code=reply.get("code"))`` passes whatever the service sent: bytes, a
set, an object, a str with a lone surrogate or a NUL, NaN. The code was stored as given: the
step's failure could not be recorded (``StoreError … not JSON serializable``), the run stayed
``running`` and a worker claimed it again, calling the tool past its ``max_attempts``; NaN
reached the ledger, and ``baton audit export`` wrote a line that is not JSON.
"""

from __future__ import annotations

import io
import json
import time

import pytest

from executor.calls import error_code
from executor.ledger import Ledger
from executor.ledger_export import export_jsonl
from executor.records import RunStatus
from executor.scheduling import StepStatus
from planner.plan import Plan
from tests.executor.runsupport import Sleeps, approved_plan, make_runner, run_plan
from tools import BatonError, RetryableToolError, ToolError, ToolInputError, ToolRegistry
from tools.errors import CODE_MAX_CHARS
from tools.redaction import CUT_MARK

SECRET = "sk-live-SECRET-123456"


class Codes(str):
    """A str subclass whose ``str()`` raises: the code is taken as the text it holds."""

    def __str__(self) -> str:
        raise RuntimeError("no str")


# The code given, and the one recorded (None: the error class's own code).
CODES = {
    "bytes": (b"E42", "E42"),
    "undecodable-bytes": (b"E\xff", "E\\xff"),
    "int": (404, "404"),
    "surrogate": ("E\udce9", "E\\udce9"),
    "nul": ("E\x00", "E\\x00"),
    "str-subclass": (Codes("E7"), "E7"),
    "empty": ("", None),
    "blank": ("  ", None),
    "long": ("E" * 5000, "E" * (CODE_MAX_CHARS - len(CUT_MARK)) + CUT_MARK),
    "nan": (float("nan"), None),
    "float": (4.5, None),
    "bool": (True, None),
    "set": ({"a"}, None),
    "tuple": (("a", "b"), None),
    "list-with-a-secret": ([SECRET], None),
    "object": (object(), None),
}


@pytest.mark.parametrize("kind", list(CODES))
def test_a_code_is_made_text_when_the_error_is_made(kind):
    given, recorded = CODES[kind]
    for cls in (ToolError, RetryableToolError, ToolInputError, BatonError):
        error = cls("boom", code=given)
        assert type(error.code) is str and error.code == (recorded or cls.code)
        if isinstance(error, ToolError):
            assert error_code(error) == error.code
        json.dumps(error.code, allow_nan=False).encode("utf-8")


def test_a_code_set_after_the_error_was_made_is_made_text_when_recorded():
    error = ToolError("boom")
    error.code = b"E\xff"  # type: ignore[assignment]
    assert error_code(error) == "E\\xff"
    error.code = {"a"}  # type: ignore[assignment]
    assert error_code(error) == "tool_error"


def test_an_error_class_whose_own_code_is_not_text_takes_its_parents():
    class Odd(ToolError):
        code = 3.5  # type: ignore[assignment]

    assert Odd("boom").code == "tool_error"
    assert Odd("boom", code="mine").code == "mine"


@pytest.mark.parametrize("kind", ["bytes", "surrogate", "nul", "nan", "set", "object",
                                  "list-with-a-secret"])
def test_a_tool_error_whose_code_is_not_text_fails_the_step_once(engine, tmp_path, kind):
    given, recorded = CODES[kind]
    calls = []
    registry = ToolRegistry()

    @registry.tool("x.fail")
    def fail() -> int:
        """Fails with a code that is not usable text."""
        calls.append(1)
        raise ToolError("boom", code=given)

    runner = make_runner(engine, registry, tmp_path, secrets={"TOKEN": SECRET}, sleep=Sleeps())
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "s", "tool": "x.fail"}]})
    assert record.status is RunStatus.FAILED and len(calls) == 1
    (step,) = record.steps
    assert step.status is StepStatus.FAILED and step.error == "boom"
    ledger = Ledger(engine)
    assert ledger.verify().ok
    (failure,) = [e for e in ledger.events(subject=record.id) if e.kind == "attempt_failure"]
    assert failure.payload["code"] == (recorded or "tool_error")
    out = io.StringIO()
    export_jsonl(ledger, out)
    for line in out.getvalue().splitlines():
        json.loads(line, parse_constant=_no_constant)
    assert SECRET not in out.getvalue()


def _no_constant(name: str) -> None:
    raise ValueError(f"not JSON: {name}")


def test_a_worker_calls_a_tool_whose_code_is_bytes_once(engine, tmp_path):
    calls = []
    registry = ToolRegistry()

    @registry.tool("x.lookup")
    def lookup() -> int:
        """Looks something up (a read), failing with a service's code as bytes."""
        calls.append(1)
        raise ToolError("lookup failed", code=b"E42")

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "x.lookup"}]})
    runner = make_runner(engine, registry, tmp_path, lease_s=1.0)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice",
                               detach=True)
    started = time.monotonic()
    runner.worker(idle_s=0.05, should_stop=lambda: (
        runner.store.run_row(run_id)["status"] != "running" and calls)
        or time.monotonic() - started > 10)
    assert runner.store.run_row(run_id)["status"] == "failed"
    assert len(calls) == 1
