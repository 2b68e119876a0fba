"""The runner against real databases (SQLite and PostgreSQL) and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from pydantic import SecretStr
from sqlalchemy import text, update
from sqlmodel import Session

from executor.ledger import Ledger
from executor.records import AttemptStatus, RunStatus
from executor.scheduling import StepStatus
from executor.store.schema import PlanVersionRow
from planner.plan import Plan
from tests.executor.runsupport import HostCheck, Sleeps, approved_plan, make_runner, one, run_plan
from tests.support.http_server import Reply
from tools import RetryableToolError, RetryPolicy, ToolContext, ToolError, ToolRegistry
from tools.builtin.http import register_http_request

FAST = {"max_attempts": 4, "initial_backoff_s": 0.5, "multiplier": 2.0, "max_backoff_s": 5.0,
        "jitter": 0.0}


def http_registry() -> ToolRegistry:
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    return registry


def post(step_id: str, url: str, **extra):
    return {"id": step_id, "tool": "http.request", "args": {"method": "POST", "url": url},
            "retry": FAST, **extra}


@pytest.fixture
def runner_for(engine, tmp_path, http_server):
    def build(registry=None, **options):
        options.setdefault("runtime_check", HostCheck(http_server.base_url))
        options.setdefault("sleep", Sleeps())
        return make_runner(engine, registry or http_registry(), tmp_path, **options)
    return build


def test_a_plan_runs_in_order_and_references_resolve(engine, tmp_path, http_server, runner_for):
    http_server.script("/total", Reply(body={"total": 42}))
    runner = runner_for()
    plan = {"goal": "g", "steps": [
        {"id": "load", "tool": "http.request", "args": {"url": http_server.url("/total")}},
        post("send", http_server.url("/hook"), args={"method": "POST", "url": http_server.url("/hook"),
                                                      "json": {"sum": {"ref": "load.json.total"}}}),
    ]}
    record = run_plan(runner, engine, plan)
    assert record.status is RunStatus.SUCCEEDED
    assert [s.status for s in record.steps] == [StepStatus.SUCCEEDED] * 2
    assert http_server.effects("/hook")[0].json() == {"sum": 42}
    kinds = [e.kind for e in Ledger(engine).events(subject=record.id)]
    assert kinds == ["run_start", "step_check", "attempt_start", "attempt_success", "step_check",
                     "attempt_start", "attempt_success", "run_end"]
    assert Ledger(engine).verify().ok


@pytest.mark.parametrize("failure", [
    Reply(status=500), Reply(status=503), Reply(drop=True, applies=False),
    Reply(delay_s=5.0, applies=False),
])
def test_transient_failures_are_retried_with_the_same_idempotency_key(
        engine, http_server, runner_for, failure):
    http_server.script("/hook", failure, Reply(body={"ok": True}))
    sleeps = Sleeps()
    record = run_plan(runner_for(sleep=sleeps), engine, {"goal": "g", "steps": [
        post("send", http_server.url("/hook"), timeout_s=0.5)]})
    assert record.status is RunStatus.SUCCEEDED
    (step,) = record.steps
    assert [a.status for a in step.attempt_log] == [AttemptStatus.FAILED, AttemptStatus.SUCCEEDED]
    keys = {r.idempotency_key for r in http_server.requests("/hook")}
    assert keys == {step.idempotency_key}
    assert len(http_server.effects("/hook")) == 1
    assert sleeps.delays == [0.5]


def test_retry_after_is_honoured(engine, http_server, runner_for):
    http_server.script("/hook", Reply(status=429, headers={"Retry-After": "3"}), Reply())
    sleeps = Sleeps()
    record = run_plan(runner_for(sleep=sleeps), engine, {"goal": "g", "steps": [
        post("send", http_server.url("/hook"))]})
    assert record.status is RunStatus.SUCCEEDED
    assert sleeps.delays == [3.0]


def test_a_retry_after_beyond_the_longest_wait_fails_the_step_at_once(engine, http_server, runner_for):
    """The tool's policy waits at most 30 s: a server asking for an hour does not park the run."""
    http_server.script("/hook", Reply(status=429, headers={"Retry-After": "3600"}), Reply())
    sleeps = Sleeps()
    record = run_plan(runner_for(sleep=sleeps), engine, {"goal": "g", "steps": [
        post("send", http_server.url("/hook"))]})
    assert record.status is RunStatus.FAILED
    assert "429" in record.error and "Retry-After 3600s" in record.error
    assert sleeps.delays == [] and record.steps[0].attempts == 1


def test_a_non_retryable_error_fails_the_run_at_once_and_stops_new_steps(engine, http_server, runner_for):
    http_server.script("/bad", Reply(status=404))
    record = run_plan(runner_for(), engine, {"goal": "g", "steps": [
        post("send", http_server.url("/bad")),
        post("after", http_server.url("/hook"), depends_on=["send"]),
    ]})
    assert record.status is RunStatus.FAILED
    assert "step send failed" in record.error and "404" in record.error
    send, after = record.steps
    assert send.status is StepStatus.FAILED and send.attempts == 1
    assert after.status is StepStatus.PENDING and http_server.count("/hook") == 0


def test_attempts_are_exhausted_then_the_step_fails(engine, http_server, runner_for):
    http_server.script("/hook", Reply(status=500))
    sleeps = Sleeps()
    record = run_plan(runner_for(sleep=sleeps), engine, {"goal": "g", "steps": [
        post("send", http_server.url("/hook"))]})
    assert record.status is RunStatus.FAILED
    assert record.steps[0].attempts == 4 and http_server.count("/hook") == 4
    assert sleeps.delays == [0.5, 1.0, 2.0]


def test_a_denied_call_fails_for_good_and_records_the_reasons(engine, http_server, runner_for):
    runner = runner_for(runtime_check=HostCheck("http://allowed.example"))
    record = run_plan(runner, engine, {"goal": "g", "steps": [post("send", http_server.url("/hook"))]})
    assert record.status is RunStatus.FAILED and "denied by runtime policy" in record.error
    assert http_server.count() == 0
    (check,) = Ledger(engine).events(subject=record.id, kinds=["step_check"])
    assert check.payload["allow"] is False and "not allowed" in check.payload["deny"][0]


def test_without_a_runtime_check_write_calls_are_refused(engine, http_server, runner_for):
    record = run_plan(runner_for(runtime_check=None), engine, {"goal": "g", "steps": [
        post("send", http_server.url("/hook"))]})
    assert record.status is RunStatus.FAILED and http_server.count() == 0


def test_a_tool_that_ignores_cancellation_does_not_hang_the_run(engine, tmp_path):
    registry = ToolRegistry()
    release = threading.Event()

    @registry.tool("slow.sync", timeout_s=0.2, retry=RetryPolicy(max_attempts=1))
    def slow_sync() -> str:
        """Sleeps in its thread and cannot be interrupted."""
        release.wait(30)
        return "late"

    @registry.tool("slow.async", timeout_s=0.2, retry=RetryPolicy(max_attempts=1))
    async def slow_async() -> str:
        """Swallows cancellation and keeps going."""
        for _ in range(300):
            try:
                await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                continue
        return "late"

    runner = make_runner(engine, registry, tmp_path)
    try:
        record = run_plan(runner, engine, {"goal": "g", "steps": [
            {"id": "a", "tool": "slow.sync"}, {"id": "b", "tool": "slow.async"}]})
    finally:
        release.set()
    assert record.status is RunStatus.FAILED
    assert all("timed out after 0.2s" in s.error for s in record.steps)


def test_cancel_stops_new_steps_and_lets_running_ones_finish(engine, tmp_path):
    registry = ToolRegistry()
    started = threading.Event()
    proceed = threading.Event()

    @registry.tool("gate")
    def gate() -> str:
        """Waits until the test lets it go."""
        started.set()
        proceed.wait(10)
        return "done"

    runner = make_runner(engine, registry, tmp_path, lease_s=0.3)
    plan_id = approved_plan(engine, {"goal": "g", "steps": [
        {"id": "first", "tool": "gate"}, {"id": "second", "tool": "gate", "depends_on": ["first"]}]})
    from planner.plan import Plan

    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "first", "tool": "gate"}, {"id": "second", "tool": "gate", "depends_on": ["first"]}]})
    run_id = runner.create_run(plan_id, 1, plan, requested_by="alice")
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("r", runner.run_sync(run_id)))
    thread.start()
    assert started.wait(10)
    seen = threading.Event()
    renew = runner.store.renew

    def renew_and_tell(*args):
        cancel = renew(*args)
        if cancel:
            seen.set()
        return cancel

    runner.store.renew = renew_and_tell  # tells the test when the owner has seen the flag
    assert runner.store.request_cancel(run_id, actor="alice")
    assert seen.wait(10)
    proceed.set()
    thread.join(20)
    record = result["r"]
    assert record.status is RunStatus.CANCELLED
    assert [s.status for s in record.steps] == [StepStatus.SUCCEEDED, StepStatus.PENDING]
    kinds = [e.kind for e in Ledger(engine).events(subject=run_id)]
    assert kinds[-2:] == ["run_cancel", "run_end"]


def test_large_outputs_become_artifacts_resolved_through_references(engine, tmp_path):
    registry = ToolRegistry()

    @registry.tool("big")
    def big() -> dict:
        """A large output."""
        return {"rows": ["x" * 100] * 50, "n": 50}

    @registry.tool("count")
    def count(rows: list) -> int:
        """Counts rows."""
        return len(rows)

    runner = make_runner(engine, registry, tmp_path, threshold=1000)
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "make", "tool": "big"}, {"id": "n", "tool": "count", "args": {"rows": {"ref": "make.value.rows"}}}]})
    assert record.status is RunStatus.SUCCEEDED
    make, n = record.steps
    assert make.output is None and make.output_uri == f"artifact://sha256/{make.output_sha256}"
    assert (tmp_path / "artifacts" / make.output_sha256[:2] / make.output_sha256).exists()
    assert n.output == {"value": 50}
    (success,) = [e for e in Ledger(engine).events(subject=record.id, kinds=["attempt_success"])
                  if e.payload["step"] == "make"]
    assert success.payload["output_uri"] == make.output_uri and "output" not in success.payload


def test_a_changed_plan_is_refused(engine, tmp_path):
    registry = ToolRegistry()
    registry.register_function(one, name="one")
    runner = make_runner(engine, registry, tmp_path)
    from planner.plan import Plan

    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "one"}]})
    plan_id = approved_plan(engine, plan)
    run_id = runner.create_run(plan_id, 1, plan, requested_by="alice")
    with Session(engine) as s:
        s.execute(update(PlanVersionRow).where(PlanVersionRow.plan_id == plan_id).values(
            plan_json=plan.model_copy(update={"goal": "other"}).canonical_json()))
        s.commit()
    record = runner.run_sync(run_id)
    assert record.status is RunStatus.FAILED and "no longer matches the approved hash" in record.error


def test_a_failed_run_resumes_from_the_failed_step_after_the_cause_is_fixed(
        engine, http_server, runner_for):
    http_server.script("/bad", Reply(status=403))
    runner = runner_for()
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        post("first", http_server.url("/hook")),
        post("flaky", http_server.url("/bad"), depends_on=["first"]),
        post("last", http_server.url("/end"), depends_on=["flaky"])]})
    assert record.status is RunStatus.FAILED
    http_server.script("/bad", Reply())  # the cause is fixed
    resumed = runner_for().resume_sync(record.id)
    assert resumed.status is RunStatus.SUCCEEDED
    first, flaky, last = resumed.steps
    assert http_server.count("/hook") == 1 and http_server.count("/end") == 1
    assert [a.status for a in flaky.attempt_log] == [AttemptStatus.FAILED, AttemptStatus.SUCCEEDED]
    resume = Ledger(engine).events(subject=record.id, kinds=["run_resume"])
    assert resume[0].payload["reset"] == ["flaky"]


SLOW_RETRY = {"max_attempts": 3, "initial_backoff_s": 5.0, "max_backoff_s": 5.0, "jitter": 0.0}


def _flaky_and_failing_registry(calls: list[str]) -> ToolRegistry:
    """``charge`` fails retryably on its first call; ``fraud`` fails for good after 0.1 s."""
    registry = ToolRegistry()

    @registry.tool("charge")
    def charge() -> str:
        """Charges a card (a side effect); the first call meets a busy service."""
        calls.append("charge")
        if calls.count("charge") == 1:
            raise RetryableToolError("service busy")
        return "charged"

    @registry.tool("fraud")
    async def fraud() -> str:
        """Finds the card stolen."""
        await asyncio.sleep(0.1)
        raise ToolError("card reported stolen")

    return registry


def test_a_step_failing_for_good_drops_a_retry_still_in_its_backoff(engine, tmp_path):
    """No new side effect once the run stops: the waiting retry ends without calling its tool."""
    calls: list[str] = []
    runner = make_runner(engine, _flaky_and_failing_registry(calls), tmp_path)  # real sleeps
    started = time.monotonic()
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": "pay", "tool": "charge", "retry": SLOW_RETRY}, {"id": "check", "tool": "fraud"}]})
    assert time.monotonic() - started < 4.0  # not the 5 s backoff
    assert calls == ["charge"]
    assert record.status is RunStatus.FAILED and "card reported stolen" in record.error
    pay = next(s for s in record.steps if s.step_id == "pay")
    assert pay.status is StepStatus.FAILED and "not tried again: the run is stopping" in pay.error
    assert [a.status for a in pay.attempt_log] == [AttemptStatus.FAILED, AttemptStatus.FAILED]
    assert Ledger(engine).verify().ok


def test_a_cancel_drops_a_retry_still_in_its_backoff(engine, tmp_path):
    calls: list[str] = []
    registry = _flaky_and_failing_registry(calls)
    runner = make_runner(engine, registry, tmp_path, lease_s=0.3)  # polls every 0.1 s
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "pay", "tool": "charge", "retry": SLOW_RETRY}]})
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    threading.Timer(0.3, runner.store.request_cancel, args=(run_id,),
                    kwargs={"actor": "alice"}).start()
    started = time.monotonic()
    record = runner.run_sync(run_id)
    assert time.monotonic() - started < 4.0
    assert calls == ["charge"]
    assert record.status is RunStatus.CANCELLED
    assert "not tried again: the run was cancelled" in record.steps[0].error


def test_a_cancel_that_came_as_the_run_failed_does_not_cancel_its_resume(
        engine, http_server, runner_for):
    """The cancel landed after the last poll, so the run ended failed with the flag set; an
    explicit resume, a new decision, runs the failed step again instead of ending at once."""
    http_server.script("/bad", Reply(status=403))
    record = run_plan(runner_for(), engine, {"goal": "g", "steps": [
        post("flaky", http_server.url("/bad"))]})
    assert record.status is RunStatus.FAILED
    with engine.begin() as conn:
        conn.execute(text("UPDATE runs SET cancel_requested = true WHERE id = :id"), {"id": record.id})
    http_server.script("/bad", Reply())
    resumed = runner_for().resume_sync(record.id)
    assert resumed.status is RunStatus.SUCCEEDED and not resumed.cancel_requested
    assert http_server.count("/bad") == 2


def test_per_tool_limits_hold_while_steps_run_concurrently(engine, tmp_path):
    registry = ToolRegistry()
    lock = threading.Lock()
    active = {"now": 0, "max": 0}

    @registry.tool("busy")
    def busy() -> int:
        """Counts concurrent calls."""
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.02)
        with lock:
            active["now"] -= 1
        return 1

    runner = make_runner(engine, registry, tmp_path, concurrency=8, per_tool_concurrency={"busy": 2})
    record = run_plan(runner, engine, {"goal": "g", "steps": [
        {"id": f"s{i}", "tool": "busy"} for i in range(8)]})
    assert record.status is RunStatus.SUCCEEDED and active["max"] == 2


def test_the_tool_gets_the_step_key_and_only_its_declared_secrets(engine, tmp_path):
    registry = ToolRegistry()
    seen = {}

    @registry.tool("peek", secrets=("api_token",))
    def peek(context: ToolContext) -> str:
        """Records its context."""
        seen.update(key=context.idempotency_key, secrets=dict(context.secrets), attempt=context.attempt)
        if context.attempt == 1:
            raise RetryableToolError("try again")
        return "ok"

    runner = make_runner(engine, registry, tmp_path, secrets={"api_token": "t0k3n", "other": "zzz"},
                         sleep=Sleeps(), ledger=Ledger(engine, secret_values=["t0k3n", "zzz"]))
    record = run_plan(runner, engine, {"goal": "g", "steps": [{"id": "p", "tool": "peek"}]})
    assert record.status is RunStatus.SUCCEEDED
    assert seen == {"key": record.steps[0].idempotency_key, "secrets": {"api_token": "t0k3n"}, "attempt": 2}


def test_secret_typed_arguments_never_reach_the_ledger(engine, tmp_path):
    registry = ToolRegistry()

    @registry.tool("login")
    def login(user: str, password: SecretStr) -> bool:
        """Checks a password."""
        return password.get_secret_value() == "hunter2"

    record = run_plan(make_runner(engine, registry, tmp_path), engine, {"goal": "g", "steps": [
        {"id": "in", "tool": "login", "args": {"user": "ann", "password": "hunter2"}}]})
    assert record.status is RunStatus.SUCCEEDED and record.steps[0].output == {"value": True}
    (start,) = Ledger(engine).events(subject=record.id, kinds=["attempt_start"])
    assert start.payload["args"] == {"user": "ann", "password": "[REDACTED]"}
    assert all("hunter2" not in str(e.payload) for e in Ledger(engine).events())


def test_a_run_keeps_older_objects_out_of_gc_scans_and_leaves_nothing_frozen(engine, tmp_path):
    import gc

    from planner.plan import Plan

    seen: list[int] = []
    registry = ToolRegistry()

    @registry.tool("slow")
    def slow() -> str:
        """Reports how much is frozen while the run goes on."""
        seen.append(gc.get_freeze_count())
        return "done"

    gc.unfreeze()
    runner = make_runner(engine, registry, tmp_path)
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "slow"}]})
    record = runner.run_sync(runner.create_run(approved_plan(engine, plan), 1, plan,
                                               requested_by="alice"))
    assert record.status is RunStatus.SUCCEEDED
    assert seen and seen[0] > 0
    assert gc.get_freeze_count() == 0


def test_results_that_finish_together_share_one_commit(engine, tmp_path, monkeypatch):
    from executor.store.hot import HotWriter
    from planner.plan import Plan

    width = 8
    registry = ToolRegistry()
    started: list[str] = []
    all_started = asyncio.Event()

    @registry.tool("together")
    async def together(context: ToolContext) -> str:
        """Waits until every step of the fan-out has started, so they all finish at once."""
        started.append(context.step_id)
        if len(started) == width:
            all_started.set()
        await all_started.wait()
        return context.step_id

    commits: list[int] = []
    real_flush = HotWriter.flush

    def counting_flush(self) -> None:
        if self.pending:
            commits.append(len(self._events))
        real_flush(self)

    monkeypatch.setattr(HotWriter, "flush", counting_flush)
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": f"s{i}", "tool": "together"} for i in range(width)]})
    runner = make_runner(engine, registry, tmp_path, concurrency=width)
    record = runner.run_sync(runner.create_run(approved_plan(engine, plan), 1, plan,
                                               requested_by="alice"))
    assert record.status is RunStatus.SUCCEEDED
    assert commits == [width, width]  # every start in one commit, every result in the next
