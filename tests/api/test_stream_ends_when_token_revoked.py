"""A run's live event stream ends soon after its token stops being valid.

The stream was authorised once, at its start, then polled the ledger until the run ended:
a token revoked in the settings file went on receiving a running run's events. Each poll
now checks the token (and the role) again, as every request does; a settings file that no
longer loads ends the stream too (fail closed).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from baton.services import Services
from baton.settings import load_settings
from executor.store.runs import RunStore
from tests.support.run_lifecycle import ONE_STEP
from tests.executor.runsupport import approved_plan

from .live import serve, token_of
from .test_settings_file_reload import USERS, write_settings
from tests.web.test_web_forms import signed_in

RUN_ID = "r-running0001"
# Under the stream's heartbeat (15 s): a stream still open when the token is revoked fails
# this read, so the test fails rather than waiting for the run's end (never).
READ_TIMEOUT = httpx.Timeout(30, read=12)
ENDS_WITHIN_S = 10


@pytest.fixture
def services(settings_file):
    """Services over the settings file, with a run that started and never ends."""
    services = Services(load_settings(settings_file, environ={}))
    RunStore(services.engine, services.ledger).create(
        run_id=RUN_ID, plan_id=approved_plan(services.engine, ONE_STEP), version=1,
        plan_hash=ONE_STEP.plan_hash(), steps=[("a", "echo")], requested_by="alice",
        concurrency=1)
    return services


@pytest.fixture
def live(services):
    server = serve(services)  # no worker: the run stays queued, its stream open
    yield server
    server.stop()


def api_stream(live) -> Callable[[], httpx.Response]:
    client = httpx.Client(base_url=live.url, timeout=READ_TIMEOUT,
                          headers={"Authorization": f"Bearer {token_of('alice')}"})
    return lambda: client.stream("GET", f"/api/v1/runs/{RUN_ID}/events")


def web_stream(live) -> Callable[[], httpx.Response]:
    client, _ = signed_in(live, "alice")
    client.timeout = READ_TIMEOUT
    return lambda: client.stream("GET", f"/runs/{RUN_ID}/events")


def ends_after(open_stream: Callable[[], httpx.Response], change: Callable[[], None]) -> float:
    """Seconds from ``change`` to the end of a stream opened (and read from) before it."""
    with open_stream() as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        for line in lines:
            if line.startswith("event: run_start"):
                break
        change()
        changed = time.monotonic()
        for _ in lines:  # anything more the stream says: read until it ends
            pass
    return time.monotonic() - changed


@pytest.mark.parametrize("opener", [api_stream, web_stream], ids=["api", "web"])
def test_a_stream_ends_soon_after_its_token_is_revoked(live, settings_file, opener):
    open_stream = opener(live)
    took = ends_after(open_stream, lambda: write_settings(settings_file, USERS,
                                                          tokens={"alice": []}))
    assert took < ENDS_WITHIN_S


@pytest.mark.parametrize("opener", [api_stream, web_stream], ids=["api", "web"])
def test_a_stream_ends_when_its_user_loses_the_role(live, settings_file, opener):
    open_stream = opener(live)
    took = ends_after(open_stream, lambda: write_settings(settings_file, {**USERS, "alice": ()}))
    assert took < ENDS_WITHIN_S


@pytest.mark.parametrize("opener", [api_stream, web_stream], ids=["api", "web"])
def test_a_stream_ends_when_the_settings_file_no_longer_loads(live, settings_file, opener):
    open_stream = opener(live)
    took = ends_after(open_stream, lambda: settings_file.write_text("[users.alice\nroles = ",
                                                                    encoding="utf-8"))
    assert took < ENDS_WITHIN_S


def test_other_users_streams_go_on(live, settings_file):
    """Revoking alice's token ends only alice's stream."""
    dave = httpx.Client(base_url=live.url, timeout=httpx.Timeout(30, read=3),
                        headers={"Authorization": f"Bearer {token_of('dave')}"})
    with dave.stream("GET", f"/api/v1/runs/{RUN_ID}/events") as stream:
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("event: ")) == "event: run_start"
        write_settings(settings_file, USERS, tokens={"alice": []})
        with pytest.raises(httpx.ReadTimeout):  # still open: nothing to say, nothing ends it
            for _ in lines:
                pass
