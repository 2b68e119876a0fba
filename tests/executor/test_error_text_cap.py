"""An error's text is recorded cut to ``ERROR_TEXT_MAX_CHARS``, secrets masked before the cut.

A tool exception with a 20 MB message used to be stored in full five times over (the
attempt's and the run's ledger events, the step row, the run row, the log line): one bad
call grew the database by 100 MB.
"""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from executor.calls import ERROR_TEXT_MAX_CHARS, cut_error_text, error_text
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from tests.executor.runsupport import Sleeps, make_runner, run_plan
from tools import RetryableToolError, ToolError, ToolRegistry
from tools.redaction import CUT_MARK, REDACTED

SECRET = "s3cret-huge-error-value-42"
SIZE = 3_000_000


def _huge(*, at: int) -> str:
    """A long message holding the secret at ``at`` and at its start."""
    text = SECRET + "H" * SIZE
    return text[:at] + SECRET + text[at:]


class HugeStr(Exception):
    """An exception whose message is megabytes long."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def __str__(self) -> str:
        return _huge(at=self.at)


def test_an_error_text_is_cut_to_the_cap_ending_with_the_cut_mark():
    text = error_text(ToolError("x" * (ERROR_TEXT_MAX_CHARS + 1)))
    assert len(text) == ERROR_TEXT_MAX_CHARS and text.endswith(CUT_MARK)
    assert error_text(ToolError("x" * ERROR_TEXT_MAX_CHARS)) == "x" * ERROR_TEXT_MAX_CHARS
    assert len(error_text(HugeStr(at=10))) == ERROR_TEXT_MAX_CHARS


@pytest.mark.parametrize("at", [ERROR_TEXT_MAX_CHARS - 40, ERROR_TEXT_MAX_CHARS - 10,
                                ERROR_TEXT_MAX_CHARS - 2])
def test_a_secret_across_the_cut_is_masked_before_cutting(at):
    def mask(text: str) -> str:
        return text.replace(SECRET, REDACTED)

    cut = cut_error_text(_huge(at=at), mask)
    assert len(cut) <= ERROR_TEXT_MAX_CHARS and cut.endswith(CUT_MARK)
    assert cut.startswith(REDACTED)
    assert SECRET[:4] not in cut  # not even the part before the cut


def _registry() -> ToolRegistry:
    registry = ToolRegistry()
    calls: list[int] = []

    @registry.tool("x.huge")
    def huge() -> int:
        """Fails with a message megabytes long."""
        raise HugeStr(at=ERROR_TEXT_MAX_CHARS - 12)

    @registry.tool("x.huge_retryable", idempotent=True)
    async def huge_retryable() -> int:
        """Fails retryably with a message megabytes long, then for good."""
        calls.append(1)
        raise RetryableToolError(_huge(at=ERROR_TEXT_MAX_CHARS // 2))

    return registry


@pytest.mark.parametrize(("tool", "attempts"), [("x.huge", 1), ("x.huge_retryable", 2)])
def test_a_huge_error_is_recorded_cut_everywhere_it_is_recorded(engine, tmp_path, tool, attempts):
    runner = make_runner(engine, _registry(), tmp_path, secrets={"TOKEN": SECRET},
                         sleep=Sleeps())
    with capture_logs() as logs:
        record = run_plan(runner, engine, {"goal": "g", "steps": [{
            "id": "s", "tool": tool,
            "retry": {"max_attempts": 2, "initial_backoff_s": 0.1, "jitter": 0.0}}]})
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.status is StepStatus.FAILED and step.attempts == attempts
    texts = {"step": step.error, "run": record.error}
    texts.update({f"attempt {a.attempt}": a.error for a in step.attempt_log})
    ledger = Ledger(engine)
    events = ledger.events(subject=record.id)
    texts.update({f"{e.kind} {e.seq}": e.payload["error"] for e in events
                  if isinstance(e.payload.get("error"), str)})
    texts.update({f"log {n}": entry["error"] for n, entry in enumerate(logs)
                  if isinstance(entry.get("error"), str)})
    assert len(texts) >= 6 + 2 * (attempts - 1), texts.keys()
    for where, text in texts.items():
        assert CUT_MARK in text, where
        assert len(text) <= ERROR_TEXT_MAX_CHARS + len("step s failed: "), (where, len(text))
        assert SECRET[:4] not in text, where
    assert step.error.endswith(CUT_MARK)
    assert record.error == f"step s failed: {step.error}"
    assert ledger.verify().ok


def test_a_secret_across_the_masked_head_is_not_pulled_into_the_kept_text_unmasked():
    # Only the head is masked; the copies masked before a secret that crosses the head's end
    # shrink to the marker and pull that secret's unmatched start into the kept text.
    from executor.calls import _MASKED_PAST_THE_CUT
    from tools.redaction import redact

    secret = "k" + "0123456789abcdef" * 100  # 1,601 characters
    head = ERROR_TEXT_MAX_CHARS + _MASKED_PAST_THE_CUT
    copies = head // (len(secret) + 1)
    text = (secret + " ") * copies
    text = text + "x" * (head - len(text) - 800) + secret + "tail"  # crosses the head's end
    cut = cut_error_text(text, lambda part: redact(part, [secret]))
    assert len(cut) <= ERROR_TEXT_MAX_CHARS and cut.endswith(CUT_MARK)
    assert secret[:40] not in cut, "the start of the secret crossing the head is shown"
