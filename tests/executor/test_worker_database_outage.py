"""A worker rides out a database it cannot reach (a restart, a failover): it warns once, tries
again with a growing wait, says when the database is back and goes on. ``--once`` gives up
after a bounded wait; any other database failure still stops the worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from executor import outage
from executor.records import RunStatus
from executor.store.db import StoreError, make_engine
from executor.store.runs import RunStore
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner, one
from tests.executor.tcp_proxy import TcpProxy
from tools import ToolRegistry

UNAVAILABLE = "the database is unavailable; waiting for it"
BACK = "the database is back"
PLAN = Plan.model_validate({"goal": "g", "steps": [{"id": "a", "tool": "one"}]})


def _refused() -> StoreError:
    """What ``claim_next`` raises while PostgreSQL refuses connections."""
    cause = psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", '
                                     "port 5432 failed: Connection refused")
    error = StoreError("the database failed while looking for a run to claim: "
                       f"(psycopg.OperationalError) {cause}")
    error.__cause__ = cause
    return error


class FakeTime:
    """A monotonic clock that only the worker's sleeps move; records each sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _claims(runner, monkeypatch, failures: int | None, then: Callable = lambda o, s: None):
    """``claim_next`` is refused a connection ``failures`` times (None: always), then ``then``."""
    calls: list[float] = []

    def claim_next(owner, lease_s):
        calls.append(runner.monotonic())
        if failures is None or len(calls) <= failures:
            raise _refused()
        return then(owner, lease_s)

    monkeypatch.setattr(runner.store, "claim_next", claim_next)
    return calls


@pytest.fixture
def fake_time(monkeypatch):
    clock = FakeTime()
    monkeypatch.setattr("executor.runner.time.sleep", clock.sleep)
    return clock


def _runner(engine, tmp_path, fake_time):
    return make_runner(engine, ToolRegistry(), tmp_path, monotonic=fake_time.monotonic)


def test_the_wait_doubles_from_half_a_second_to_thirty_seconds_with_jitter():
    assert [outage.backoff_s(n, rand=lambda: 1.0) for n in (1, 2, 3, 7, 50)] == [
        0.5, 1.0, 2.0, 30.0, 30.0]
    # Jitter: workers that lost the database together do not all knock again together.
    assert outage.backoff_s(3, rand=lambda: 0.0) == 1.0


def test_a_worker_waits_out_a_refused_connection_and_says_so_once(engine, tmp_path, fake_time,
                                                                  monkeypatch):
    runner = _runner(engine, tmp_path, fake_time)
    calls = _claims(runner, monkeypatch, failures=4)
    with capture_logs() as logs:
        assert runner.worker(once=True) == 0
    assert len(calls) == 5
    waits = [later - earlier for earlier, later in zip(calls, calls[1:])]
    assert 0.25 <= waits[0] <= 0.5 + 1e-9
    assert all(later >= earlier for earlier, later in zip(waits, waits[1:]))
    said = [e for e in logs if e["event"] in (UNAVAILABLE, BACK)]
    assert [e["event"] for e in said] == [UNAVAILABLE, BACK]
    assert said[0]["log_level"] == "warning" and "Connection refused" in said[0]["error"]
    assert said[1]["unavailable_s"] == pytest.approx(calls[-1] - calls[0], abs=0.1)


def test_with_once_a_worker_gives_up_on_a_database_still_gone_after_a_minute(
        engine, tmp_path, fake_time, monkeypatch):
    runner = _runner(engine, tmp_path, fake_time)
    calls = _claims(runner, monkeypatch, failures=None)
    with pytest.raises(StoreError, match=r"Connection refused.*still failing after 60 s"):
        runner.worker(once=True)
    assert calls[-1] - calls[0] == pytest.approx(outage.ONCE_WAIT_S, abs=outage.SLICE_S)


def test_a_worker_never_gives_up_on_the_database_and_stops_when_asked(
        engine, tmp_path, fake_time, monkeypatch):
    runner = _runner(engine, tmp_path, fake_time)
    calls = _claims(runner, monkeypatch, failures=None)
    hour_later = fake_time.now + 3600
    assert runner.worker(should_stop=lambda: fake_time.now >= hour_later) == 0
    waits = [later - earlier for earlier, later in zip(calls, calls[1:])]
    assert max(waits) <= outage.LONGEST_WAIT_S + outage.SLICE_S
    assert max(fake_time.sleeps) <= outage.SLICE_S  # a stop is seen within a slice


def test_a_stop_asked_while_waiting_ends_the_wait(engine, tmp_path, fake_time, monkeypatch):
    runner = _runner(engine, tmp_path, fake_time)
    calls = _claims(runner, monkeypatch, failures=None)
    assert runner.worker(should_stop=lambda: len(fake_time.sleeps) >= 2) == 0
    assert len(calls) == 1 and fake_time.sleeps == [outage.SLICE_S] * 2


def test_another_database_failure_still_stops_the_worker_at_once(engine, tmp_path, monkeypatch):
    runner = make_runner(engine, ToolRegistry(), tmp_path)
    real, calls = runner.store.claim_next, []

    def spied(owner, lease_s):
        calls.append(owner)
        return real(owner, lease_s)

    monkeypatch.setattr(runner.store, "claim_next", spied)
    with engine.begin() as c:  # the schema gone from under the worker
        c.execute(text("DROP TABLE run_steps"))
        c.execute(text("DROP TABLE runs"))
    with capture_logs() as logs, pytest.raises(StoreError, match="runs"):
        runner.worker()
    assert len(calls) == 1 and not [e for e in logs if e["event"] == UNAVAILABLE]


def _wait_until(condition: Callable[[], bool], what: str, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


@pytest.mark.postgres
def test_a_worker_rides_out_a_database_restart_and_runs_what_was_queued_meanwhile(engine,
                                                                                   tmp_path):
    if engine.dialect.name != "postgresql":
        pytest.skip("a database server that restarts")
    proxy = TcpProxy(("127.0.0.1", engine.url.port or 5432)).start()
    through = make_engine(engine.url.set(host="127.0.0.1", port=proxy.port)
                          .render_as_string(hide_password=False))
    registry = ToolRegistry()
    registry.register_function(one, name="one")
    worker = make_runner(through, registry, tmp_path)
    queuer = make_runner(engine, registry, tmp_path)
    stop, ran, failed = threading.Event(), [], []

    def work() -> None:
        try:
            ran.append(worker.worker(idle_s=0.1, should_stop=stop.is_set))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failed.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    try:
        with capture_logs() as logs:
            thread.start()
            _wait_until(lambda: proxy.accepted > 0 or failed, "the worker connected")
            proxy.stop()  # the database restarts: refused for 3 s
            down_at = time.monotonic()
            _wait_until(lambda: any(e["event"] == UNAVAILABLE for e in logs) or failed,
                        "the worker noticed")
            assert not failed, failed
            run_id = queuer.create_run(approved_plan(engine, PLAN), 1, PLAN,
                                       requested_by="alice", detach=True)
            time.sleep(max(0.0, 3.0 - (time.monotonic() - down_at)))
            assert thread.is_alive()
            proxy.start()
            _wait_until(lambda: queuer.store.get(run_id, detail=False).status
                        is RunStatus.SUCCEEDED or failed, "the run queued meanwhile ran")
            assert thread.is_alive() and not failed, failed
            stop.set()
            thread.join(timeout=30)
    finally:
        stop.set()
        proxy.stop()
        through.dispose()
    assert ran == [1]
    events = [e["event"] for e in logs if e["event"] in (UNAVAILABLE, BACK)]
    assert events == [UNAVAILABLE, BACK]


def test_the_servers_background_worker_waits_for_the_database_too(tmp_path, monkeypatch):
    from baton.api.worker import BackgroundWorker
    from baton.services import Services
    from tests.api.live import make_settings

    services = Services(make_settings(tmp_path))
    monkeypatch.setattr(outage, "ONCE_WAIT_S", 0.0)  # a `--once` pass would give up at once
    monkeypatch.setattr(outage, "FIRST_WAIT_S", 0.01)
    real, calls = RunStore.claim_next, []

    def claim_next(self, owner, lease_s):
        calls.append(owner)
        if len(calls) <= 3:
            raise _refused()
        return real(self, owner, lease_s)

    monkeypatch.setattr(RunStore, "claim_next", claim_next)
    background = BackgroundWorker(services, poll_interval_s=None)
    with capture_logs() as logs:
        background.start()
        _wait_until(lambda: any(e["event"] == BACK for e in logs), "the database came back")
        background.stop()
    assert [e["event"] for e in logs if e["event"] in (UNAVAILABLE, BACK)] == [UNAVAILABLE, BACK]
    assert not [e for e in logs if e["log_level"] in ("error", "critical")]
    assert len(calls) == 4
