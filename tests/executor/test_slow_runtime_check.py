"""A runtime check that takes long (the policy judging a call that sends megabytes) costs the
run neither its lease nor the commit of the results already in, and changes no ledger.

The embedded engine took 20 s to judge one POST of a MiB of random letters and digits, on
the run's event loop: the lease went unrenewed, a worker took the run over while its owner
was alive ("was taken over by another process"), and fetched again the step that had ended
before the check, whose result would have been committed only with the checked step's
start. The check is now asked in a worker thread. The checks below are slow by waiting for
events (another process's view of the run), never for a set time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from executor.checks import StepCall, StepDecision
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.store.runs import aware
from tests.executor.runsupport import make_runner, no_wait, run_plan
from tools import Effect, RetryableToolError, RetryPolicy, ToolContext, ToolRegistry

# Renewed every second (Runner.poll_s), so the checks below outlast it by waiting.
LEASE_S = 3.0
# How long a check waits for what the fixed runner does within a second, before giving up
# (so that the runner as it was, which cannot do it while the check runs, fails, not hangs).
GIVE_UP_S = 15.0


class SlowCheck:
    """Allows every call; the ``n``-th check of a step in ``slow`` ({step: n}) first runs
    ``wait`` (with the call) and keeps what it returns in ``seen``."""

    def __init__(self, slow: dict[str, int], wait: Callable[[StepCall], Any]) -> None:
        self.slow = slow
        self.wait = wait
        self.asked: list[str] = []
        self.seen: list[Any] = []

    def check_step(self, call: StepCall) -> StepDecision:
        """Allow, after waiting on the slow ones."""
        self.asked.append(call.step_id)
        if self.slow.get(call.step_id) == self.asked.count(call.step_id):
            self.seen.append(self.wait(call))
        return StepDecision(allow=True, engine="test", bundle_hash="b" * 64)


def _registry(events: dict[str, threading.Event] | None = None) -> ToolRegistry:
    """``fetch`` and ``post``; with ``events``, ``fetch`` of "c" ends once ``c may end`` is set
    (by the test, or by ``post`` being called) and then sets ``c ended``."""
    registry = ToolRegistry()
    events = events if events is not None else {}

    @registry.tool("fetch")
    def fetch(name: str) -> str:
        """Reads a page."""
        if name == "c" and events:
            assert events["c may end"].wait(GIVE_UP_S)
            events["c ended"].set()
        return f"page {name}"

    @registry.tool("post", effect=Effect.WRITE, idempotent=True,
                   retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.5, jitter=0))
    def post(body: str, context: ToolContext) -> str:
        """Sends ``body``; a body of "flaky" fails its first attempt."""
        if events:
            events["c may end"].set()
        if body == "flaky" and context.attempt == 1:
            raise RetryableToolError("503, nothing done")
        return f"sent {body}"

    return registry


FETCH_THEN_POST = {"goal": "g", "steps": [
    {"id": "a", "tool": "fetch", "args": {"name": "a"}},
    {"id": "b", "tool": "post", "args": {"body": {"ref": "a.value"}}},
]}


def _until(seen: Callable[[], Any]) -> Any:
    """``seen()`` once true, else its last value after ``GIVE_UP_S``."""
    give_up = time.monotonic() + GIVE_UP_S
    while not (found := seen()) and time.monotonic() < give_up:
        time.sleep(0.02)
    return found


def _outlast_the_lease(engine, tmp_path) -> Callable[[StepCall], Any]:
    """A check's wait: until the lease its run held when the check began has run out, then a
    worker's claim of any run whose lease has run out (what it claimed: None, none)."""
    worker = make_runner(engine, _registry(), tmp_path)

    def wait(call: StepCall) -> Any:
        lease = aware(worker.store.run_row(call.run_id)["lease_expires_at"])
        while worker.store.clock() <= lease:
            time.sleep(0.05)
        return worker.store.claim_next(worker.owner_id, 30)

    return wait


def test_a_check_longer_than_the_lease_leaves_the_run_to_its_owner(engine, tmp_path):
    check = SlowCheck({"b": 1}, _outlast_the_lease(engine, tmp_path))
    runner = make_runner(engine, _registry(), tmp_path, runtime_check=check, lease_s=LEASE_S)
    record = run_plan(runner, engine, FETCH_THEN_POST)
    assert check.seen == [None]  # no run for the worker to take over: the lease was renewed
    assert record.status is RunStatus.SUCCEEDED
    assert [s.output for s in record.steps] == [{"value": "page a"}, {"value": "sent page a"}]


def test_a_retrys_check_longer_than_the_lease_leaves_the_run_to_its_owner(engine, tmp_path):
    # Checked after its backoff, just before its call (DelayedRetries._call_begins).
    check = SlowCheck({"b": 2}, _outlast_the_lease(engine, tmp_path))
    runner = make_runner(engine, _registry(), tmp_path, runtime_check=check, lease_s=LEASE_S,
                         sleep=no_wait)
    plan = {"goal": "g", "steps": [{"id": "b", "tool": "post", "args": {"body": "flaky"}}]}
    record = run_plan(runner, engine, plan)
    assert check.seen == [None]
    assert record.status is RunStatus.SUCCEEDED and record.steps[0].attempts == 2


def test_a_result_settled_before_a_slow_check_is_committed_while_the_check_runs(engine,
                                                                               tmp_path):
    ledger = Ledger(engine)

    def wait_for_a(call: StepCall) -> bool:
        # What another process sees: a takeover now would not fetch a again.
        return bool(_until(lambda: ledger.events(subject=call.run_id, kinds=["attempt_success"])))

    check = SlowCheck({"b": 1}, wait_for_a)
    runner = make_runner(engine, _registry(), tmp_path, runtime_check=check, lease_s=LEASE_S)
    record = run_plan(runner, engine, FETCH_THEN_POST)
    assert check.seen == [True]
    assert record.status is RunStatus.SUCCEEDED
    # Recorded where it was: after a's result, before b's start.
    events = [(e.kind, e.payload.get("step")) for e in ledger.events(subject=record.id)
              if e.payload.get("step")]
    assert events == [("attempt_start", "a"), ("attempt_success", "a"), ("step_check", "b"),
                      ("attempt_start", "b"), ("attempt_success", "b")]


def _ledger_with_c_ending(engine, tmp_path, during_the_check: bool) -> list[tuple]:
    """Run a → b (checked slowly) beside c, c ending while b's check runs or once b is called."""
    events = {"c may end": threading.Event(), "c ended": threading.Event()}

    def check_b(call: StepCall) -> bool:
        if during_the_check:
            events["c may end"].set()
            return _until(events["c ended"].is_set)
        return not events["c ended"].is_set()

    check = SlowCheck({"b": 1}, check_b)
    runner = make_runner(engine, _registry(events), tmp_path, runtime_check=check,
                         lease_s=LEASE_S)
    plan = {"goal": "g", "steps": [*FETCH_THEN_POST["steps"],
                                   {"id": "c", "tool": "fetch", "args": {"name": "c"}}]}
    record = run_plan(runner, engine, plan)
    assert record.status is RunStatus.SUCCEEDED
    assert check.seen == [True]
    return [(e.kind, e.payload) for e in Ledger(engine).events(subject=record.id)
            if e.payload.get("step")]


def test_the_ledger_is_the_same_whether_a_step_ends_during_a_slow_check_or_after(engine,
                                                                                 tmp_path):
    during = _ledger_with_c_ending(engine, tmp_path, during_the_check=True)
    after = _ledger_with_c_ending(engine, tmp_path, during_the_check=False)
    assert during == after
    steps = [(kind, payload["step"]) for kind, payload in during]
    # c started beside a, so it settles after a, b's check and b's start, whenever it ended.
    assert steps.index(("attempt_success", "c")) > steps.index(("attempt_start", "b"))


def test_a_cancel_seen_during_a_slow_check_starts_and_checks_no_further_step(engine, tmp_path):
    other = make_runner(engine, _registry(), tmp_path)  # who cancels: another process

    def cancel_and_wait_until_seen(call: StepCall) -> bool:
        lease = other.store.run_row(call.run_id)["lease_expires_at"]
        other.store.request_cancel(call.run_id, actor="alice")
        # The owner renews its lease and reads the cancel flag in one statement (_poll).
        return bool(_until(lambda: other.store.run_row(call.run_id)["lease_expires_at"] != lease))

    check = SlowCheck({"x": 1}, cancel_and_wait_until_seen)
    runner = make_runner(engine, _registry(), tmp_path, runtime_check=check, lease_s=LEASE_S)
    plan = {"goal": "g", "steps": [{"id": "x", "tool": "post", "args": {"body": "1"}},
                                   {"id": "y", "tool": "post", "args": {"body": "2"}}]}
    record = run_plan(runner, engine, plan)
    assert check.seen == [True]
    assert check.asked == ["x"]  # y, started in the same turn, was never checked
    assert record.status is RunStatus.CANCELLED
    assert [s.attempts for s in record.steps] == [0, 0]
