"""A goal's line breaks are shown as line breaks, not as ``\\n``.

The page's textarea invites a goal of several lines; every page wrote it as ``printable``
does (``first line\\nsecond line``), where a line break hides nothing and reorders nothing.
The other control and format characters of each line are still escaped.
"""

from __future__ import annotations

import pytest

from baton.services import Services
from baton.usecases.plans import plan_from_document
from tests.api.live import make_settings, serve
from tests.web.test_web_forms import signed_in

GOAL = "Total the amount column\nof sales.csv <by region>\n\u202eand save it"
SHOWN = "Total the amount column\nof sales.csv &lt;by region&gt;\n\\u202eand save it"
PLAN = {"goal": GOAL, "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}, "why": "read it"}]}


@pytest.fixture
def site(tmp_path):
    services = Services(make_settings(tmp_path))
    live = serve(services, worker_poll_s=None)
    plan_id = plan_from_document(services, PLAN, services.settings.users["alice"]).plan_id
    yield live, plan_id
    live.stop()
    services.engine.dispose()


def test_the_plan_page_shows_the_goal_on_its_lines(site):
    live, plan_id = site
    client, _ = signed_in(live, "bob")
    page = client.get(f"/plans/{plan_id}").text
    assert f'<h1 class="goal">{SHOWN}</h1>' in page
    assert "column\\nof" not in page and "\u202e" not in page


def test_the_lists_show_the_goal_on_its_lines(site):
    live, _ = site
    client, _ = signed_in(live, "bob")
    page = client.get("/").text
    assert f'<td class="goal">{SHOWN}</td>' in page
    assert "column\\nof" not in page
