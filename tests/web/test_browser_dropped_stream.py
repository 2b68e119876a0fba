"""The live run page outlives a dropped event stream and stops listening once the run is over."""

from __future__ import annotations

import time

import pytest

from baton.services import Services
from executor.ledger import EventKind
from tests.api.live import make_settings, serve, token_of
from tests.support.run_lifecycle import resumed_run, transition
from tests.web.test_browser import BROWSER_WAIT_MS
from tests.web.test_browser import browser_page  # noqa: F401 - fixture: headless Chromium

pytestmark = pytest.mark.browser

# Before the page's scripts: keep every EventSource the page opens, to read their states.
RECORD_EVENT_SOURCES = """
window.eventSources = [];
window.EventSource = class extends window.EventSource {
  constructor(...args) { super(...args); window.eventSources.push(this); }
};
"""
ALL_CLOSED = "window.eventSources.length > 0 && window.eventSources.every(s => s.readyState === 2)"


def _drop_once(how: str):
    """A route handler that fails the first events request (``how``) and lets the rest through."""
    seen: list[str] = []

    def handle(route) -> None:
        seen.append(route.request.url)
        if len(seen) > 1:
            route.continue_()
        elif how == "reset":  # the connection dropped (Wi-Fi blip, proxy timeout)
            route.abort("connectionreset")
        else:  # a proxy answering for a server that is restarting
            route.fulfill(status=502, content_type="text/plain", body="bad gateway")

    return handle, seen


class _Holder:
    """A route handler holding requests (the first ``most`` of them, or all) until released."""

    def __init__(self, most: int | None = None) -> None:
        self.most, self.held, self.released = most, [], False

    def __call__(self, route) -> None:
        if self.released or (self.most is not None and len(self.held) >= self.most):
            route.continue_()
        else:
            self.held.append(route)

    def release(self) -> None:
        """Let every held request through, and those to come."""
        self.released = True
        for route in self.held:
            route.continue_()


def _sign_in_as_alice(page, live) -> None:
    from playwright.sync_api import expect

    page.goto(live.url + "/")
    page.get_by_label("API token").fill(token_of("alice"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_have_text("alice")


def _wait_until(page, condition) -> None:
    """Let the page run until ``condition()`` holds (the browser tests' wait at most)."""
    deadline = time.monotonic() + BROWSER_WAIT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, "the page did not get there"
        page.wait_for_timeout(50)


@pytest.mark.parametrize("how", ["reset", "bad_gateway"])
def test_the_run_page_shows_the_real_end_after_its_event_stream_dropped(browser_page,  # noqa: F811
                                                                        tmp_path, how):
    from playwright.sync_api import expect

    services = Services(make_settings(tmp_path))
    run_id = "r-droppedstream1"
    resumed_run(services, run_id)  # running
    live = serve(services)
    try:
        page = browser_page
        page.add_init_script(RECORD_EVENT_SOURCES)
        handle, events_requests = _drop_once(how)
        page.route("**/runs/*/events", handle)
        states: list[int] = []
        page.on("requestfinished",
                lambda request: states.append(1) if request.url.endswith("/state") else None)
        _sign_in_as_alice(page, live)
        page.goto(live.url + f"/runs/{run_id}")
        expect(page.get_by_test_id("run-status")).to_have_text("running")
        # The page has seen the drop and looked at the state since (the load's look, then the
        # error's): the run ends only now, so only a new connection can tell the page.
        page.wait_for_function("() => window.eventSources.length > 0")
        _wait_until(page, lambda: events_requests and len(states) >= 2)
        transition(services, run_id, "failed", EventKind.RUN_END,
                   {"status": "failed", "error": "x"})
        expect(page.get_by_test_id("run-status")).to_have_text("failed")
        assert len(events_requests) >= 2
        # The stream of a finished run ends: the page closes it rather than reconnect for ever.
        page.wait_for_function(ALL_CLOSED)
    finally:
        live.stop()


def test_a_stream_that_drops_just_as_the_run_ends_still_shows_the_end(browser_page,  # noqa: F811
                                                                      tmp_path):
    # The drop's look at the state finds the run over: the page must not just close, or the
    # run_end the dropped stream never delivered would be missing from its events.
    from playwright.sync_api import expect

    services = Services(make_settings(tmp_path))
    run_id = "r-droppedatend1"
    resumed_run(services, run_id)  # running, three events
    live = serve(services)
    first_stream = _Holder(most=1)  # answered below, once the run has ended

    try:
        page = browser_page
        page.add_init_script(RECORD_EVENT_SOURCES)
        page.route("**/runs/*/events", first_stream)
        _sign_in_as_alice(page, live)
        page.goto(live.url + f"/runs/{run_id}")
        expect(page.locator("#events li")).to_have_count(3)
        _wait_until(page, lambda: bool(first_stream.held))
        transition(services, run_id, "succeeded", EventKind.RUN_END,
                   {"status": "succeeded", "error": None})
        first_stream.held[0].abort("connectionreset")
        expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
        expect(page.locator("#events li")).to_have_count(4)
        page.wait_for_function(ALL_CLOSED)
    finally:
        live.stop()


def test_an_earlier_tries_run_end_answered_late_does_not_close_the_stream_before_the_end(
        browser_page, tmp_path, monkeypatch):  # noqa: F811
    # A resumed run's stream replays its first try's run_end; under load the page's look at
    # the state for that old event came back after the run had ended, and closed the stream
    # before it delivered the real run_end: 'succeeded' with three events, for ever.
    from playwright.sync_api import expect

    from baton.api import routes_runs

    monkeypatch.setattr(routes_runs, "POLL_S", 3.0)  # the real end comes a poll later
    services = Services(make_settings(tmp_path))
    run_id = "r-latestate1"
    resumed_run(services, run_id)  # run_start, run_end (failed), run_resume
    live = serve(services)
    states = _Holder()  # answered below, once the run has ended

    try:
        page = browser_page
        page.add_init_script(RECORD_EVENT_SOURCES)
        _sign_in_as_alice(page, live)
        page.route("**/runs/*/state", states)
        page.goto(live.url + f"/runs/{run_id}")
        expect(page.locator("#events li")).to_have_count(3)
        _wait_until(page, lambda: len(states.held) >= 4)  # the load's look, one per replay
        transition(services, run_id, "succeeded", EventKind.RUN_END,
                   {"status": "succeeded", "error": None})
        states.release()
        expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
        expect(page.locator("#events li")).to_have_count(4)
        page.wait_for_function(ALL_CLOSED)
    finally:
        live.stop()
