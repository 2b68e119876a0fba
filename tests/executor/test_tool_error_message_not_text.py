"""A ToolError whose message is not text fails its step with a readable error.

``raise ToolError(resp.json().get("error"))`` passes None, a number, bytes, a dict or a list
when the service's error is not a string: the executor cut and stored the message as text
it was not, and the run ended as an internal executor error (or a database error binding a
list) instead of the step failing.
"""

from __future__ import annotations

import pytest

from executor.calls import ERROR_TEXT_MAX_CHARS, error_text
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from tests.executor.runsupport import Sleeps, make_runner, run_plan
from tools import BatonError, RetryableToolError, ToolError, ToolInputError, ToolRegistry
from tools.redaction import REDACTED

SECRET = "s3cret-in-a-non-text-message"


class NoText:
    """A value whose ``__str__`` and ``__repr__`` both raise."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class OddStr(str):
    """A str whose subclass breaks slicing and ``str()``."""

    def __getitem__(self, key):
        raise TypeError("no slicing")

    def __str__(self) -> str:
        raise RuntimeError("no str")


MESSAGES = {
    "none": (None, "ToolError with no message"),
    "int": (12345, "12345"),
    "bytes": (b"caf\xc3\xa9 \xff", "café \\xff"),
    "dict": ({"code": 7, "detail": SECRET}, f"{{'code': 7, 'detail': '{REDACTED}'}}"),
    "list": (["x" * 5000], None),
    "tuple": (("t",), "('t',)"),
    "str-and-repr-raise": (NoText(), "NoText message that cannot be shown as text"),
    "huge-int": (10 ** 5000, "int message that cannot be shown as text"),
    "str-subclass": (OddStr("plain text"), "plain text"),
}


@pytest.mark.parametrize("kind", list(MESSAGES))
def test_a_non_text_message_becomes_text_when_the_error_is_made(kind):
    message, shown = MESSAGES[kind]
    for cls in (ToolError, RetryableToolError, ToolInputError, BatonError):
        error = cls(message)
        assert type(error.message) is str and type(str(error)) is str
        assert str(error) == error.message
        if shown is not None and cls is ToolError:
            assert shown.replace(REDACTED, SECRET) in error.message
        assert len(error_text(error)) <= ERROR_TEXT_MAX_CHARS


@pytest.mark.parametrize("kind", list(MESSAGES))
def test_a_tool_error_whose_message_is_not_text_fails_the_step(engine, tmp_path, kind):
    message, shown = MESSAGES[kind]
    registry = ToolRegistry()

    @registry.tool("x.fail")
    def fail() -> int:
        """Fails with a message that is not a str."""
        raise ToolError(message)

    runner = make_runner(engine, registry, tmp_path, secrets={"TOKEN": SECRET}, sleep=Sleeps())
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "s", "tool": "x.fail"}]})
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.status is StepStatus.FAILED
    assert type(step.error) is str and len(step.error) <= ERROR_TEXT_MAX_CHARS
    assert "internal error" not in (record.error or "")
    assert record.error == f"step s failed: {step.error}"
    if shown is not None:
        assert shown in step.error
    assert SECRET not in step.error
    ledger = Ledger(engine)
    assert ledger.verify().ok
    assert any(e.payload.get("error") == step.error for e in ledger.events(subject=record.id))
