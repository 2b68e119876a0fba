"""User information written into a URL (``https://user:PASSWORD@host``, ``https://TOKEN@host``)
is never stored, recorded in the ledger, printed or sent to the model: the goal, the plan as
stored, its feedback and every view show it as logs do (``user:***@host``, ``***@host``). The
masked plan is still denied by the rule against user information in the URL a step calls,
for the same reason, and a plan showing the mask never runs."""

from __future__ import annotations

import json

import pytest

from policies.bundle import SHIPPED_DIR
from tests.support.openai_server import Completion
from tests.support.url_secrets_cli import baton  # noqa: F401 - fixture
from tests.support.url_secrets_cli import (auditor_views, fetch_reply, note_plan_tried,
                                           table_rows, use_secrets_rules, words)

PASSWORD = "hunter3hunter3"
TOKEN = "tq8Kz2LmZx9Pw3RtY7vBn"
HOST = "api.internal.example"
USER_INFO = ("step fetch: its URL carries credentials before the host (user@host), which would "
             "be sent as Basic authentication")


def _assert_nowhere(cli, db, plan_id: str, *outputs) -> None:
    """Neither credential is in an output given, a `baton` view, the ledger or any table."""
    views = auditor_views(cli, plan_id)
    for out in [*outputs, *views]:
        assert PASSWORD not in out.stdout + out.stderr and TOKEN not in out.stdout + out.stderr
    for text in (table_rows(db, "plan_versions"), table_rows(db, "ledger"), table_rows(db)):
        assert PASSWORD not in text and TOKEN not in text


def _shown(cli, plan_id: str) -> dict:
    shown = cli("--as", "dave", "plans", "show", plan_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _events(cli, plan_id: str) -> list[dict]:
    return json.loads(cli("--as", "dave", "audit", "show", "--json", "--subject", plan_id).stdout)


def _plan_file(data_dir, url: str) -> str:
    """A hand-written plan fetching ``url``, noting it in a file and in each step's why."""
    plan = {"goal": f"fetch {url} and note it", "steps": [
        {"id": "fetch", "tool": "http.request", "why": f"read {url}",
         "args": {"method": "GET", "url": url}},
        {"id": "note", "tool": "files.write", "why": "keep where it came from",
         "args": {"path": "note.txt", "text": f"fetched from {url}\nfor the record"}}]}
    (data_dir / "plan.json").write_text(json.dumps(plan))
    return "plan.json"


@pytest.mark.parametrize(("url", "masked"), [
    (f"https://bob:{PASSWORD}@{HOST}/b", f"https://bob:***@{HOST}/b"),
    (f"https://{TOKEN}@{HOST}/b?page=2", f"https://***@{HOST}/b?page=2"),
    (f"https://bob:{PASSWORD}@{HOST}/b?token={TOKEN}", f"https://bob:***@{HOST}/b?token=***"),
], ids=["a password", "a token as the user", "a password and a query token"])
def test_a_plan_file_whose_url_carries_user_information_is_denied_and_kept_only_masked(
        cli, data_dir, url, masked):
    planned = cli("--as", "alice", "plan", "--file", _plan_file(data_dir, url))
    assert planned.returncode == 1, planned.stderr
    # The printed tree: the goal, each why, the url and the note, masked.
    printed = planned.stdout
    assert f"goal: fetch {masked} and note it" in printed
    assert f"why: read {masked}" in printed and f'url: "{masked}"' in printed
    assert USER_INFO in words(printed)
    (listed,) = json.loads(cli("--as", "dave", "plans", "list", "--json").stdout)
    version = _shown(cli, listed["plan_id"])
    assert version["status"] == "denied"
    assert USER_INFO in words("\n".join(version["decision"]["deny"]))
    fetch, note = version["plan"]["steps"]
    assert fetch["args"]["url"] == masked and fetch["why"] == f"read {masked}"
    assert note["args"]["text"] == f"fetched from {masked}\nfor the record"
    assert version["goal"] == f"fetch {masked} and note it"
    # The ledger rows: the goal and the version as stored.
    events = _events(cli, listed["plan_id"])
    assert [e["payload"]["goal"] for e in events if e["kind"] == "goal"] == [version["goal"]]
    (decision,) = [e["payload"] for e in events if e["kind"] == "decision"]
    assert USER_INFO in words(json.dumps(decision))
    stored = table_rows(data_dir / ".baton" / "baton.db", "plan_versions")
    assert masked in stored
    _assert_nowhere(cli, data_dir / ".baton" / "baton.db", listed["plan_id"], planned)


def test_a_password_in_a_url_is_still_denied_as_one_once_masked(cli, data_dir):
    """``bob:***@`` is still a password inside a URL to the secret patterns: the url and the
    note's text are denied for it as before masking."""
    planned = cli("--as", "alice", "plan", "--json", "--file",
                  _plan_file(data_dir, f"https://bob:{PASSWORD}@{HOST}/b"))
    deny = words("\n".join(_shown(cli, json.loads(planned.stdout)["plan_id"])["decision"]["deny"]))
    for where in ("step fetch: argument $.args.url", "step note: argument $.args.text"):
        assert f"{where} contains a password inside a URL" in deny


def test_a_user_name_alone_is_shown_as_logs_show_it(cli, data_dir):
    """In an http(s) URL a user alone may be a token: hidden as logs hide it. The URL still
    carries user information and is denied for it."""
    planned = cli("--as", "alice", "plan", "--json", "--file",
                  _plan_file(data_dir, f"https://alice@{HOST}/b"))
    version = _shown(cli, json.loads(planned.stdout)["plan_id"])
    assert version["plan"]["steps"][0]["args"]["url"] == f"https://***@{HOST}/b"
    assert USER_INFO in words("\n".join(version["decision"]["deny"]))


def test_a_goal_whose_url_carries_user_information_is_kept_only_masked(cli, data_dir):
    """The template planner refuses such a URL, quoting it: the goal, the error and the
    template's parameters are stored, recorded and printed masked."""
    goal = f"Post the total of sales.csv to https://bob:{PASSWORD}@{HOST}/fin"
    planned = cli("--as", "alice", "plan", goal)
    assert planned.returncode == 1
    masked = f"https://bob:***@{HOST}/fin"
    assert f"url: '{masked}' does not match" in planned.stderr
    (listed,) = json.loads(cli("--as", "dave", "plans", "list", "--json").stdout)
    version = _shown(cli, listed["plan_id"])
    assert version["goal"] == f"Post the total of sales.csv to {masked}"
    events = _events(cli, listed["plan_id"])
    assert [e["payload"]["goal"] for e in events if e["kind"] == "goal"] == [version["goal"]]
    assert masked in table_rows(data_dir / ".baton" / "baton.db", "plan_versions")
    _assert_nowhere(cli, data_dir / ".baton" / "baton.db", listed["plan_id"], planned)


def test_a_plan_showing_masked_user_information_never_runs_even_where_the_policies_let_it(
        cli, data_dir):
    """A policies directory without the rule against user information: the plan, stored
    masked, would call ``https://***@host``; it can be neither approved nor run."""
    rules = (SHIPPED_DIR / "secrets.rego").read_text()
    rule = "deny contains msg if some msg in userinfo_findings(input.steps)"
    assert rule in rules
    use_secrets_rules(data_dir, rules.replace(rule, ""))
    version, (planned, approved, ran) = note_plan_tried(cli, data_dir,
                                                        f"see https://{TOKEN}@{HOST}/b")
    assert version["plan"]["steps"][0]["args"]["text"] == f"see https://***@{HOST}/b"
    assert approved.returncode != 0 and ran.returncode != 0
    assert ("cannot be approved: step note: a URL in its arguments carries credentials before "
            "the host") in words(approved.stderr)
    assert not (data_dir / "ws" / "note.txt").exists()
    _assert_nowhere(cli, data_dir / ".baton" / "baton.db", version["plan_id"], planned, approved,
                    ran)


def test_goal_user_information_reaches_neither_the_model_nor_the_record(
        baton, openai_server, data_dir):
    masked = f"https://bob:***@{HOST}/b and https://***@{HOST}/c"
    openai_server.script(fetch_reply(f"https://bob:***@{HOST}/b"))
    planned = baton("plan", f"Fetch https://bob:{PASSWORD}@{HOST}/b and https://{TOKEN}@{HOST}/c")
    assert planned.returncode == 1, planned.stderr
    (request,) = openai_server.requests
    assert PASSWORD not in json.dumps(request) and TOKEN not in json.dumps(request)
    assert f"Goal: Fetch {masked}\n" in request["messages"][1]["content"]
    assert USER_INFO in words(planned.stdout)
    (listed,) = json.loads(baton("plans", "list", "--json").stdout)
    plan_id = listed["plan_id"]
    version = json.loads(baton("plans", "show", plan_id, "--json").stdout)
    assert version["status"] == "denied" and version["goal"] == f"Fetch {masked}"
    assert USER_INFO in words("\n".join(version["decision"]["deny"]))
    events = json.loads(baton("--as", "dave", "audit", "show", "--json", "--subject",
                              plan_id).stdout)
    assert [e["payload"]["goal"] for e in events if e["kind"] == "goal"] == [version["goal"]]
    assert "llm_exchange" in [e["kind"] for e in events]
    _assert_nowhere(baton, data_dir / "data" / "baton.db", plan_id, planned)


def test_feedback_user_information_reaches_neither_the_model_nor_the_record(
        baton, openai_server, data_dir):
    openai_server.script(fetch_reply(f"https://{HOST}/b?page=1"))
    plan_id = json.loads(baton("plan", "--json", f"Fetch https://{HOST}/b?page=1").stdout)[
        "plan_id"]
    openai_server.script(Completion(content=None, refusal="no"))
    revised = baton("revise", plan_id, f"fetch https://bob:{PASSWORD}@{HOST}/b instead")
    assert revised.returncode == 1
    request = openai_server.requests[-1]
    assert PASSWORD not in json.dumps(request)
    assert f"fetch https://bob:***@{HOST}/b instead" in request["messages"][1]["content"]
    events = json.loads(baton("--as", "dave", "audit", "show", "--json", "--subject",
                              plan_id).stdout)
    failed = [e["payload"] for e in events if e["kind"] == "validation" and not e["payload"]["ok"]]
    assert failed[-1]["feedback"] == f"fetch https://bob:***@{HOST}/b instead"
    _assert_nowhere(baton, data_dir / "data" / "baton.db", plan_id, revised)


@pytest.mark.parametrize("url", [
    f"https://b]ob:{PASSWORD}@{HOST}/b",  # urlsplit refuses it: no user information read
    f"https://bob[:{PASSWORD}]@{HOST}/b",  # read, but its masked form is refused
], ids=["unreadable", "unreadable once masked"])
def test_a_url_the_policy_would_read_otherwise_once_masked_is_stored_invalid(cli, data_dir, url):
    """Never judged on a plan other than the one written: stored invalid, masked, with a
    ``url_credential`` problem naming the step's url, never the value."""
    planned = cli("--as", "alice", "plan", "--json", "--file", _plan_file(data_dir, url))
    assert planned.returncode != 0
    (listed,) = json.loads(cli("--as", "dave", "plans", "list", "--json").stdout)
    version = _shown(cli, listed["plan_id"])
    assert version["status"] == "invalid"
    problems = [p for p in version["problems"] if p["code"] == "url_credential"]
    assert [p["path"] for p in problems] == ["$.steps[0].args.url"]
    assert "carries credentials before the host (user@host)" in problems[0]["message"]
    _assert_nowhere(cli, data_dir / ".baton" / "baton.db", listed["plan_id"], planned)
