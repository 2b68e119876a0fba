"""A runtime policy denial is recorded cut, as an error's text is, and the list of them bounded.

Only the step's error was cut: each denial went into the ``step_check`` ledger event whole,
so a policy echoing a 3 MB URL back made a 3 MB ledger row (and one denial per item of a
long list, as many).
"""

from __future__ import annotations

import json

from executor.calls import ERROR_TEXT_MAX_CHARS
from executor.checks import StepCall, StepDecision
from executor.ledger import Ledger
from executor.loop import DENIALS_MAX_CHARS, DENIALS_MAX_COUNT
from executor.records import RunStatus
from tests.executor.runsupport import make_runner, run_plan
from tools import Effect, ToolRegistry
from tools.redaction import CUT_MARK, REDACTED

SECRET = "s3cret-in-a-denial-7"


class Denies:
    """A runtime check that denies every call with the reasons it was given."""

    def __init__(self, *reasons: str) -> None:
        self.reasons = reasons

    def check_step(self, call: StepCall) -> StepDecision:
        """Deny, with every reason."""
        return StepDecision(allow=False, deny=self.reasons, engine="test", bundle_hash="b" * 64)


def write() -> int:
    """Writes nothing (a write, so that it is checked)."""
    return 1


def _denied(engine, tmp_path, *reasons: str):
    registry = ToolRegistry()
    registry.register_function(write, name="writer", effect=Effect.WRITE)
    runner = make_runner(engine, registry, tmp_path, runtime_check=Denies(*reasons),
                         secrets={"TOKEN": SECRET})
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "a", "tool": "writer"}]})
    assert record.status is RunStatus.FAILED
    ledger = Ledger(engine)
    (check,) = ledger.events(subject=record.id, kinds=["step_check"])
    assert ledger.verify().ok
    return record, check.payload


def test_a_huge_denial_is_recorded_cut_with_secrets_masked_before_the_cut(engine, tmp_path):
    huge = "url https://h/" + "u" * (ERROR_TEXT_MAX_CHARS - 30) + SECRET + "v" * 3_000_000
    record, payload = _denied(engine, tmp_path, huge, f"token {SECRET} sent")
    first, second = payload["deny"]
    assert len(first) == ERROR_TEXT_MAX_CHARS and first.endswith(CUT_MARK)
    assert SECRET[:4] not in first  # masked whole, then cut: not even its start is left
    assert second == f"token {REDACTED} sent"
    assert len(json.dumps(payload)) < 3 * ERROR_TEXT_MAX_CHARS
    error = record.steps[0].error
    assert len(error) <= ERROR_TEXT_MAX_CHARS and SECRET[:4] not in error


def test_many_denials_are_recorded_up_to_a_bound_and_the_rest_counted(engine, tmp_path):
    reasons = [f"item {n} is not allowed: " + "x" * 500 for n in range(10_000)]
    _, payload = _denied(engine, tmp_path, *reasons)
    deny = payload["deny"]
    kept = deny[:-1]
    assert kept == reasons[:len(kept)]
    assert 0 < len(kept) <= DENIALS_MAX_COUNT
    assert sum(map(len, kept)) <= DENIALS_MAX_CHARS
    assert deny[-1] == f"… and {10_000 - len(kept)} more denials, not recorded"
    assert len(json.dumps(payload)) < DENIALS_MAX_CHARS + 2 * ERROR_TEXT_MAX_CHARS


def test_many_short_denials_are_bounded_by_their_number(engine, tmp_path):
    reasons = [f"no {n}" for n in range(5_000)]
    _, payload = _denied(engine, tmp_path, *reasons)
    assert payload["deny"][:-1] == reasons[:DENIALS_MAX_COUNT]
    assert payload["deny"][-1] == f"… and {5_000 - DENIALS_MAX_COUNT} more denials, not recorded"


def test_a_few_short_denials_are_recorded_as_they_are(engine, tmp_path):
    record, payload = _denied(engine, tmp_path, "host a is not allowed", "region b")
    assert payload["deny"] == ["host a is not allowed", "region b"]
    assert record.steps[0].error == ("denied by runtime policy: host a is not allowed; "
                                     "region b")
