"""`baton plan` and `baton revise` with the LLM planner: a model that copies the goal's or the
feedback's words (``report?token=…``, no URL there) into a URL the policy refuses leaves the
credential nowhere: the goal, each step's why, the feedback, the ledger, the output and the
later requests to the model hold ``***`` in its place. A value under eight characters is kept
(an ordinary word, found in a URL only)."""

from __future__ import annotations

import json

from tests.support.openai_server import Completion
from tests.support.url_secrets_cli import baton  # noqa: F401 - fixture
from tests.support.url_secrets_cli import table_rows

CRED = "hunter3hunter3"
API = "https://api.example.com"


def _reply(url: str, why: str, tool: str = "http.request") -> Completion:
    step = {"id": "fetch", "tool": tool, "why": why, "depends_on": [],
            "args_json": json.dumps({"method": "GET", "url": url}), "retry": None,
            "timeout_s": None}
    return Completion(content=json.dumps({"steps": [step]}))


def _ledger(baton, plan_id: str) -> str:  # noqa: F811 - the fixture
    shown = baton("--as", "dave", "audit", "show", "--json", "--subject", plan_id)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def _only_plan(baton) -> dict:  # noqa: F811 - the fixture
    (listed,) = json.loads(baton("plans", "list", "--json").stdout)
    return json.loads(baton("plans", "show", listed["plan_id"], "--json").stdout)


def test_a_goal_word_copied_into_a_refused_url_is_masked_in_the_goal_and_why(  # noqa: F811
        baton, openai_server, data_dir):
    openai_server.script(_reply(f"{API}/report?token={CRED}", f"fetch report?token={CRED}"))
    planned = baton("plan", f"fetch report?token={CRED} from the api")
    assert planned.returncode == 1, planned.stderr
    shown = _only_plan(baton)
    assert shown["status"] == "denied"
    assert shown["goal"] == "fetch report?token=*** from the api"
    assert shown["plan"]["goal"] == "fetch report?token=*** from the api"
    (step,) = shown["plan"]["steps"]
    assert step["args"]["url"] == f"{API}/report?token=***"
    assert step["why"] == "fetch report?token=***"
    ledger = _ledger(baton, shown["plan_id"])
    (goal_event,) = [e["payload"] for e in json.loads(ledger) if e["kind"] == "goal"]
    assert goal_event["goal"] == "fetch report?token=*** from the api"
    assert CRED not in ledger + planned.stdout + planned.stderr
    assert CRED not in table_rows(data_dir / "data" / "baton.db")
    # The revision's request is built from the stored goal.
    openai_server.script(Completion(content=None, refusal="no"))
    baton("revise", shown["plan_id"], "send the token in a header")
    assert len(openai_server.requests) == 2
    assert CRED not in json.dumps(openai_server.requests[1])


def test_a_failed_planning_masks_the_goal_word_its_replies_put_in_a_url(  # noqa: F811
        baton, openai_server, data_dir):
    openai_server.script(_reply(f"{API}/report?token={CRED}", "fetch it", tool="http.nope"),
                         Completion(content=None, refusal="no"))
    planned = baton("plan", f"fetch report?token={CRED} from the api")
    assert planned.returncode != 0
    assert CRED not in json.dumps(openai_server.requests[1])  # the repair request
    shown = _only_plan(baton)
    assert shown["status"] == "invalid"
    assert shown["goal"] == "fetch report?token=*** from the api"
    assert CRED not in _ledger(baton, shown["plan_id"]) + planned.stdout + planned.stderr
    assert CRED not in table_rows(data_dir / "data" / "baton.db")


def test_a_feedback_word_copied_into_a_refused_url_is_masked_in_the_feedback(  # noqa: F811
        baton, openai_server, data_dir):
    openai_server.script(_reply(f"{API}/status", "fetch the status"))
    plan_id = json.loads(baton("plan", "--json", "fetch status from the api").stdout)["plan_id"]
    openai_server.script(_reply(f"{API}/report?api_key={CRED}", "fetch the report"))
    revised = baton("revise", plan_id, f"fetch report?api_key={CRED} instead")
    shown = json.loads(baton("plans", "show", plan_id, "--json").stdout)
    assert shown["version"] == 2 and shown["status"] == "denied"
    assert shown["feedback"] == "fetch report?api_key=*** instead"
    assert CRED not in _ledger(baton, plan_id) + revised.stdout + revised.stderr
    assert CRED not in table_rows(data_dir / "data" / "baton.db")


def test_a_short_value_hidden_in_a_url_is_kept_in_the_goal(  # noqa: F811
        baton, openai_server):
    openai_server.script(_reply(f"{API}/report?token=admin", "fetch the report"))
    baton("plan", "fetch the admin report?token=admin from the api")
    shown = _only_plan(baton)
    assert shown["plan"]["steps"][0]["args"]["url"] == f"{API}/report?token=***"
    assert shown["goal"] == "fetch the admin report?token=admin from the api"
