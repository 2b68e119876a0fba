"""The page's forms run their use case off the event loop: a planner (or a policy check, or
the database) that takes long on one form never stops the server answering everyone else.

The goal and revision forms called the planner on the event loop: while a slow model
worked on one web goal, /api/v1/healthz (and every page) waited for it.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from baton.services import Services
from baton.usecases.plans import plan_goal
from tests.api.live import make_settings, serve
from tests.web.test_web_forms import GOAL, signed_in
from tools import BatonError

WAIT_S = 30  # only how long a broken server is given before the test fails

# (use case the form calls, the form's path under the plan, its fields)
FORMS = {
    "goal": ("baton.usecases.plans.plan_goal", None, {"goal": GOAL}),
    "revision": ("baton.usecases.plans.revise_plan", "revise", {"feedback": "by month"}),
    "approve": ("baton.usecases.approving.approve", "approve", {}),
    "reject": ("baton.usecases.approving.reject", "reject", {"reason": "wrong file"}),
    "run": ("baton.usecases.runs.start_run", "run", {}),
}


@pytest.fixture
def site(tmp_path):
    services = Services(make_settings(tmp_path))
    stored = plan_goal(services, GOAL, services.settings.users["alice"])
    live = serve(services)
    yield live, stored
    live.stop()


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_form_whose_use_case_blocks_leaves_the_server_answering(site, monkeypatch, form):
    server, stored = site
    use_case, action, fields = FORMS[form]
    entered, release = threading.Event(), threading.Event()

    def blocking(*args, **kwargs):
        entered.set()
        release.wait(WAIT_S * 2)
        raise BatonError("released by the test")

    monkeypatch.setattr(use_case, blocking)
    frank, csrf = signed_in(server, "frank")  # analyst and approver: every form is his
    path = "/plans" if action is None else f"/plans/{stored.plan_id}/{action}"
    posted: list[httpx.Response] = []
    poster = threading.Thread(target=lambda: posted.append(
        frank.post(path, data={"csrf": csrf, **fields}, follow_redirects=False)), daemon=True)
    poster.start()
    try:
        assert entered.wait(WAIT_S), "the form never reached its use case"
        answered: list[int] = []
        done = threading.Event()

        def probe() -> None:
            answered.append(httpx.get(server.url + "/api/v1/healthz", timeout=WAIT_S * 3)
                            .status_code)
            done.set()

        threading.Thread(target=probe, daemon=True).start()
        answered_meanwhile = done.wait(WAIT_S)
    finally:
        release.set()
    poster.join(WAIT_S)
    assert answered_meanwhile, f"the {form} form held the event loop while its use case ran"
    assert answered == [200]
    assert [r.status_code for r in posted] == [303]
