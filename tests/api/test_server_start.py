"""What `baton serve` does when it starts: runs queued before it started get run."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
import uvicorn

from baton.usecases.approving import approve
from baton.usecases.plans import plan_goal
from baton.usecases.runs import start_run

from .live import LiveServer, token_of

GOAL = "Summarise the amount column of sales.csv by region into summary.json"


class _LifespanServer(LiveServer):
    """A live server whose startup/shutdown hooks run, as under `baton serve`."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.socket]}, daemon=True)


def _queued_run(services) -> str:
    users = services.settings.users
    stored = plan_goal(services, GOAL, users["alice"])
    for approver in ("bob", "carol"):
        if approve(services, stored.plan_id, users[approver]).status.value == "approved":
            break
    return start_run(services, stored.plan_id, users["alice"], detach=True).id


def _assert_run_finishes(url: str, run_id: str) -> None:
    """Follow the run's event stream to its end; the run must have succeeded."""
    headers = {"Authorization": f"Bearer {token_of('alice')}"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=60) as client:
        with client.stream("GET", f"/runs/{run_id}/events") as stream:
            kinds = [json.loads(line.removeprefix("data: "))["kind"]
                     for line in stream.iter_lines() if line.startswith("data: ")]
        assert kinds[-1] == "run_end"
        assert client.get(f"/runs/{run_id}").json()["status"] == "succeeded"


@pytest.mark.timeout(120)  # a run never drained would otherwise hang on its event stream
def test_runs_queued_before_the_server_started_are_run(services):
    from baton.api import create_app

    run_id = _queued_run(services)
    live = _LifespanServer(create_app(services)).start()
    try:
        _assert_run_finishes(live.url, run_id)
    finally:
        live.stop()


@pytest.mark.timeout(120)  # a run never drained would otherwise hang on its event stream
def test_runs_queued_by_another_process_while_serving_are_run(services):
    from baton.api import create_app
    from baton.services import Services

    live = _LifespanServer(create_app(services, worker_poll_s=0.05)).start()
    try:
        # Its own Services over the same database: what `baton run --detach` does elsewhere.
        run_id = _queued_run(Services(services.settings))
        _assert_run_finishes(live.url, run_id)
    finally:
        live.stop()
    worker = live.server.config.app.state.worker
    assert not worker.polling, "the poller must stop when the server shuts down"
