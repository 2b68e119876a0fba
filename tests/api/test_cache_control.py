"""Pages and API answers are never stored by a browser or proxy: after Sign out, Back must not
show a signed-in page (its plan, its forms) from the cache. Static files may be cached.

Nothing said Cache-Control: Back after Sign out showed the whole plan page again.
"""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services
from baton.usecases.plans import plan_goal
from tests.api.live import make_settings, serve, token_of
from tests.support.run_lifecycle import failed_run
from tests.web.test_web_forms import GOAL, signed_in


@pytest.fixture
def services(tmp_path):
    made = Services(make_settings(tmp_path))
    yield made
    made.engine.dispose()


@pytest.fixture
def live(services):
    server = serve(services, worker_poll_s=None)
    yield server
    server.stop()


def test_signed_in_pages_and_api_answers_are_not_stored(live, services):
    plan_id = plan_goal(services, GOAL, services.settings.users["alice"]).plan_id
    failed_run(services, "r-cachectl001")
    client, _ = signed_in(live, "bob")
    api = httpx.Client(base_url=live.url, timeout=30,
                       headers={"Authorization": f"Bearer {token_of('bob')}"})
    for response in (client.get("/"), client.get(f"/plans/{plan_id}"),
                     client.get("/runs/r-cachectl001"), client.get("/runs/r-cachectl001/state"),
                     client.get("/ledger"), client.get("/plans/p-00000000"),  # an error page
                     api.get("/api/v1/plans"), api.get(f"/api/v1/plans/{plan_id}"),
                     api.get("/api/v1/plans/p-00000000"),  # an API error
                     httpx.get(f"{live.url}/api/v1/plans")):  # 401 from the middleware
        assert response.headers.get("cache-control") == "no-store", (response.url,
                                                                     response.headers)


def test_the_event_streams_are_not_stored(live, services):
    failed_run(services, "r-cachectl002")
    client, _ = signed_in(live, "alice")
    api = httpx.Client(base_url=live.url, timeout=30,
                       headers={"Authorization": f"Bearer {token_of('alice')}"})
    for opened in (client.stream("GET", "/runs/r-cachectl002/events"),
                   api.stream("GET", "/api/v1/runs/r-cachectl002/events")):
        with opened as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers.get_list("cache-control") == ["no-store"]


def test_static_files_may_still_be_cached(live):
    for path in ("/static/baton.css", "/static/run.js"):
        response = httpx.get(live.url + path)
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("cache-control", "")
