"""The web pages show text from a plan, a user or a tool as the CLI prints it: control and format
characters escaped (``\\u202e``), the HTML escaped once.

They showed it raw: a right-to-left override in a goal and an argument made an approver read
"Pay invoice 17 ($1000)" and the amount ``1000`` on the plan page, and Approve signed 0001.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import update
from sqlmodel import Session

from baton.services import Services
from baton.usecases.approving import approve
from baton.usecases.plans import plan_from_document
from executor.ledger import EventKind
from executor.store.runs import RunStore
from executor.store.schema import RunRow, StepRunRow
from planner.plan import Plan
from tests.api.live import make_settings, serve
from tests.executor.runsupport import approved_plan
from tests.support.gate_services import BACKENDS, database_url
from tests.support.run_lifecycle import transition
from tests.web.test_web_forms import signed_in

BIDI = "\u202e0001$\u202c"  # reads "$1000" where the override is honoured
SHOWN = "\\u202e0001$\\u202c"  # as ``printable`` writes it, and the CLI prints it
RAW = ("\u202e", "\u202c", "\u2066", "\x1b")
GOAL = f"Pay invoice 17 ({BIDI}) to the vendor <b>R&D</b>"
GOAL_SHOWN = f"Pay invoice 17 ({SHOWN}) to the vendor &lt;b&gt;R&amp;D&lt;/b&gt;"
PLAN = {"goal": GOAL, "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}, "why": "read it"},
    {"id": "save", "tool": "files.write", "args": {"path": "copy.csv", "text": "\u202e0001"},
     "why": f"pay {BIDI} to vendor"}]}
RUN_ID = "r-showntext01"
ODD_ACTOR = "ev\u2066il"


@pytest.fixture(params=BACKENDS)
def services(request, tmp_path) -> Iterator[Services]:
    with database_url(request.param, tmp_path) as url:
        made = Services(make_settings(tmp_path, database_url=url))
        yield made
        made.engine.dispose()


@pytest.fixture
def live(services):
    server = serve(services, worker_poll_s=None)
    yield server
    server.stop()


def assert_no_raw(page: str) -> None:
    """Not one control or format character of the plan's text reached the page."""
    assert not [ch for ch in RAW if ch in page], page


def test_the_plan_page_shows_goal_arguments_why_and_comments_escaped(services, live):
    users = services.settings.users
    plan_id = plan_from_document(services, PLAN, users["alice"]).plan_id
    approve(services, plan_id, users["carol"], comment=f"ok {BIDI}")
    client, _ = signed_in(live, "bob")
    page = client.get(f"/plans/{plan_id}").text
    assert_no_raw(page)
    assert f'<h1 class="goal">{GOAL_SHOWN}</h1>' in page  # escaped as HTML once, not twice
    assert "<code>&#34;\\u202e0001&#34;</code>" in page
    assert f"pay {SHOWN} to vendor" in page
    assert f"ok {SHOWN}" in page


def test_the_queue_and_recent_plans_show_goals_escaped(services, live):
    plan_id = plan_from_document(services, PLAN, services.settings.users["alice"]).plan_id
    client, _ = signed_in(live, "bob")
    page = client.get("/").text
    assert 'data-testid="queue-plan">' + plan_id in page
    assert_no_raw(page)
    assert page.count(f'<td class="goal">{GOAL_SHOWN}</td>') == 2  # waiting for bob, and among recent plans


def test_a_subject_asked_for_is_shown_escaped(live):
    client, _ = signed_in(live, "dave")
    page = client.get("/ledger?subject=r-%E2%80%AEx%1B").text
    assert_no_raw(page)
    assert "<h1>Ledger of r-\\u202ex\\x1b</h1>" in page


@pytest.fixture
def run(services) -> str:
    """A failed run of a plan with PLAN's goal: an output, a step error and the run's error
    holding format characters, and an event by an actor whose id holds one."""
    plan = Plan.model_validate({"goal": GOAL, "steps": [{"id": "a", "tool": "echo", "args": {}},
                                                       {"id": "b", "tool": "echo", "args": {}}]})
    RunStore(services.engine, services.ledger).create(
        run_id=RUN_ID, plan_id=approved_plan(services.engine, plan), version=1,
        plan_hash=plan.plan_hash(), steps=[("a", "echo"), ("b", "echo")], requested_by="alice",
        concurrency=1)
    with Session(services.engine) as s:
        s.execute(update(StepRunRow).where(StepRunRow.step_id == "a").values(
            status="succeeded", attempts=1, output_json=json.dumps({"note": BIDI})))
        s.execute(update(StepRunRow).where(StepRunRow.step_id == "b").values(
            status="failed", attempts=1, error=f"refused {BIDI}"))
        s.execute(update(RunRow).where(RunRow.id == RUN_ID).values(error=f"step b: {BIDI}"))
        services.ledger.append(EventKind.CANCEL_REQUEST, RUN_ID, ODD_ACTOR, {"why": BIDI},
                               session=s)
        s.commit()
    transition(services, RUN_ID, "failed", EventKind.RUN_END, {"status": "failed"})
    return RUN_ID


def test_the_run_page_shows_outputs_errors_and_actors_escaped(live, run):
    client, _ = signed_in(live, "alice")
    page = client.get(f"/runs/{run}").text
    assert_no_raw(page)
    assert f'<h1 class="goal">{GOAL_SHOWN}</h1>' in page
    # The output's JSON keeps its lines; only the characters inside its strings are escaped.
    assert f"{{\n  &#34;note&#34;: &#34;{SHOWN}&#34;\n}}" in page
    assert f"refused {SHOWN}" in page and f"step b: {SHOWN}" in page
    assert "ev\\u2066il" in page


def test_the_run_state_gives_the_script_text_escaped(live, run):
    client, _ = signed_in(live, "alice")
    state = client.get(f"/runs/{run}/state").json()
    shown = f'{{\n  "note": "{SHOWN}"\n}}'
    assert state["steps"][0]["output"] == shown and state["steps"][0]["output_chars"] == len(shown)
    assert state["steps"][1]["error"] == f"refused {SHOWN}"
    assert state["error"] == f"step b: {SHOWN}"


def test_the_whole_output_is_the_same_json_with_the_characters_escaped(live, run):
    client, _ = signed_in(live, "alice")
    response = client.get(f"/runs/{run}/steps/0/output")
    assert_no_raw(response.text)
    assert response.json() == {"note": BIDI}  # the value itself, as JSON escapes


def test_the_ledger_page_shows_actors_and_payloads_escaped(live, run):
    client, _ = signed_in(live, "dave")
    page = client.get(f"/ledger?subject={run}").text
    assert_no_raw(page)
    assert "<td>ev\\u2066il</td>" in page
