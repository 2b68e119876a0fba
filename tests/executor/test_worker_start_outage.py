"""A worker started while the database cannot be reached (a restart, a failover) waits for it
as a running worker does, instead of exiting at once (a service manager restarting it in a
loop gives up after a few tries); any other failure to open the database still stops it."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from baton.services import Services
from baton.usecases import runs
from executor import outage
from executor.store.db import StoreError
from tests.api.live import make_settings
from tests.executor.test_worker_database_outage import BACK, UNAVAILABLE, _refused


@pytest.fixture
def quick_waits(monkeypatch):
    monkeypatch.setattr(outage, "FIRST_WAIT_S", 0.01)
    monkeypatch.setattr(outage, "LONGEST_WAIT_S", 0.02)


def _opening_fails(monkeypatch, services, failures: int, error=_refused):
    """Opening the database (the runner's first use of it) fails ``failures`` times."""
    real, tries = runs.make_runner, []

    def make_runner(services, **options):
        tries.append(1)
        if len(tries) <= failures:
            raise error()
        return real(services, **options)

    monkeypatch.setattr(runs, "make_runner", make_runner)
    return tries


def test_a_worker_started_while_the_database_is_down_waits_for_it(tmp_path, monkeypatch,
                                                                  quick_waits):
    services = Services(make_settings(tmp_path))
    tries = _opening_fails(monkeypatch, services, failures=3)
    with capture_logs() as logs:
        assert runs.run_worker(services, once=True) == 0
    assert len(tries) == 4
    assert [e["event"] for e in logs if e["event"] in (UNAVAILABLE, BACK)] == [UNAVAILABLE, BACK]


def test_a_worker_started_with_once_gives_up_on_a_database_still_gone(tmp_path, monkeypatch,
                                                                     quick_waits):
    monkeypatch.setattr(outage, "ONCE_WAIT_S", 0.05)
    services = Services(make_settings(tmp_path))
    _opening_fails(monkeypatch, services, failures=10_000)
    with pytest.raises(StoreError, match="giving up"):
        runs.run_worker(services, once=True)


def test_a_worker_asked_to_stop_while_it_waits_to_start_runs_nothing(tmp_path, monkeypatch,
                                                                    quick_waits):
    services = Services(make_settings(tmp_path))
    tries = _opening_fails(monkeypatch, services, failures=10_000)
    assert runs.run_worker(services, should_stop=lambda: len(tries) >= 3) == 0


def test_another_failure_to_open_the_database_still_stops_the_worker(tmp_path, monkeypatch):
    services = Services(make_settings(tmp_path))
    tries = _opening_fails(monkeypatch, services, failures=1,
                           error=lambda: StoreError("cannot open the database x: no such table"))
    with pytest.raises(StoreError, match="no such table"):
        runs.run_worker(services, once=True)
    assert len(tries) == 1
