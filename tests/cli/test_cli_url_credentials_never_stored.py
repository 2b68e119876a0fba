"""A credential written into a URL (``?token=…``, ``?pass%2577ord=…``, ``/db;password=…``,
``;jsessionid=…``) is refused by policy naming its parameter, and is never stored, recorded in
the ledger or printed: not in the goal, the plan as stored, its template parameters, a
revision's feedback, a diff, nor anything ``baton`` shows. The stored plan shows it as ``***``
and can never run with that mask."""

from __future__ import annotations

import json

import pytest

from policies.bundle import SHIPPED_DIR
from tests.support.url_secrets_cli import (auditor_views, note_plan_tried, table_rows,
                                           use_secrets_rules, words)

CRED = "hunter3hunter3"
HOST = "https://api.internal.example"
REFUSED = "carries a literal credential in URL parameter"


def _stored_text(data_dir, table: str | None = None) -> str:
    """Every row of ``table`` (every table: None) of the database, as text."""
    return table_rows(data_dir / ".baton" / "baton.db", table)


def _assert_nowhere(cli, data_dir, plan_id: str, *outputs) -> None:
    """CRED is in no output given, no `baton` view of the plan, no ledger event, no table."""
    views = auditor_views(cli, plan_id)
    for out in [*outputs, *views]:
        assert CRED not in out.stdout + out.stderr, out.args
    assert CRED not in _stored_text(data_dir, "plan_versions")
    assert CRED not in _stored_text(data_dir)


def _shown(cli, plan_id: str, *more: str) -> dict:
    shown = cli("--as", "dave", "plans", "show", plan_id, "--json", *more)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _deny(version: dict) -> str:
    return words("\n".join(version["decision"]["deny"]))


def test_a_goal_whose_url_carries_a_credential_is_denied_and_kept_only_masked(cli, data_dir):
    goal = f"Post the total of sales.csv to {HOST}/fin?token={CRED}"
    planned = cli("--as", "alice", "plan", goal)
    assert planned.returncode == 1, planned.stderr
    printed = words(planned.stdout + planned.stderr)
    assert f"{REFUSED} token" in printed and f"{HOST}/fin?token=***" in printed
    (listed,) = json.loads(cli("--as", "dave", "plans", "list", "--json").stdout)
    version = _shown(cli, listed["plan_id"])
    assert version["status"] == "denied"
    assert f"step post: argument $.args.url {REFUSED} token" in _deny(version)
    masked = f"{HOST}/fin?token=***"
    assert version["goal"] == version["plan"]["goal"] == f"Post the total of sales.csv to {masked}"
    post = version["plan"]["steps"][2]
    assert post["args"]["url"] == masked and post["why"] == f"send the figure to {masked}"
    assert version["origin"]["params"]["url"] == masked
    events = json.loads(cli("--as", "dave", "audit", "show", "--json", "--subject",
                            listed["plan_id"]).stdout)
    assert [e["payload"]["goal"] for e in events if e["kind"] == "goal"] == [version["goal"]]
    _assert_nowhere(cli, data_dir, listed["plan_id"], planned)


def _plan_file(data_dir, url: str, **args) -> str:
    """A hand-written plan fetching ``url``, noting it in a file and in each step's why."""
    plan = {"goal": f"fetch {url} and note it", "steps": [
        {"id": "fetch", "tool": "http.request", "why": f"read {url}",
         "args": {"method": "GET", "url": url, **args}},
        {"id": "note", "tool": "files.write", "why": "keep where it came from",
         "args": {"path": "note.txt", "text": f"fetched from {url}\nfor the record"}}]}
    (data_dir / "plan.json").write_text(json.dumps(plan))
    return "plan.json"


@pytest.mark.parametrize(("url", "param", "masked"), [
    (f"{HOST}/b?token={CRED}", "token", f"{HOST}/b?token=***"),
    (f"{HOST}/b?pass%2577ord={CRED}&page=2", "password", f"{HOST}/b?pass%2577ord=***&page=2"),
    (f"{HOST}/db;password={CRED}", "password", f"{HOST}/db;password=***"),
    (f"{HOST}/app/cart;jsessionid={CRED}?x=1", "jsessionid", f"{HOST}/app/cart;jsessionid=***?x=1"),
    (f"{HOST}/b?apiKey={CRED}", "apiKey", f"{HOST}/b?apiKey=***"),
    (f"{HOST}/b?q=sales%26api_key%3D{CRED}", "api_key", f"{HOST}/b?q=sales&api_key=***"),
], ids=["token", "a name encoded twice", "a path parameter", "a session id", "camelCase",
        "only once decoded"])
def test_a_plan_file_whose_urls_carry_a_credential_is_denied_and_kept_only_masked(
        cli, data_dir, url, param, masked):
    planned = cli("--as", "alice", "plan", "--file", _plan_file(data_dir, url))
    assert planned.returncode == 1, planned.stderr
    assert masked in planned.stdout
    (listed,) = json.loads(cli("--as", "dave", "plans", "list", "--json").stdout)
    version = _shown(cli, listed["plan_id"])
    assert version["status"] == "denied"
    deny = _deny(version)
    assert f"step fetch: argument $.args.url {REFUSED} {param}" in deny
    assert f"step note: argument $.args.text {REFUSED} {param}" in deny
    fetch, note = version["plan"]["steps"]
    assert fetch["args"]["url"] == masked and fetch["why"] == f"read {masked}"
    assert note["args"]["text"] == f"fetched from {masked}\nfor the record"
    assert version["goal"] == f"fetch {masked} and note it"
    _assert_nowhere(cli, data_dir, listed["plan_id"], planned)


def test_a_credential_in_the_query_argument_is_kept_only_masked(cli, data_dir):
    planned = cli("--as", "alice", "plan", "--json", "--file", _plan_file(
        data_dir, f"{HOST}/b", query={"token": CRED, "q": f"sales&api_key={CRED}", "page": 2}))
    assert planned.returncode == 1, planned.stderr
    version = _shown(cli, json.loads(planned.stdout)["plan_id"])
    assert version["plan"]["steps"][0]["args"]["query"] == {
        "token": "***", "q": "sales&api_key=***", "page": 2}
    assert f"$.args.query.token {REFUSED} token" in _deny(version)
    assert f"$.args.query.q {REFUSED} api_key" in _deny(version)
    _assert_nowhere(cli, data_dir, version["plan_id"], planned)


def test_ordinary_parameters_and_secret_references_are_stored_as_written(cli, data_dir):
    url = (f"{HOST}/items?page_token=eyJvIjo1MH0&sort_key=created&session=spring-2025"
           "&keyword=sales&token=${secret:API_TOKEN}")
    planned = cli("--as", "alice", "plan", "--json", "--file", _plan_file(data_dir, url))
    version = json.loads(planned.stdout)
    assert version["plan"]["steps"][0]["args"]["url"] == url
    assert REFUSED not in json.dumps(version)


def test_approving_revising_diffing_and_templating_never_bring_it_back(cli, data_dir):
    goal = f"Post the total of sales.csv to {HOST}/fin?token={CRED}"
    planned = cli("--as", "alice", "plan", "--json", goal)
    plan_id = json.loads(planned.stdout)["plan_id"]
    approved = cli("--as", "bob", "approve", plan_id)
    assert approved.returncode != 0
    # The template planner reads the feedback as a goal: the new version is refused and masked.
    revised = cli("--as", "alice", "revise", plan_id,
                  f"Post the total of sales.csv to {HOST}/fin2?apiKey={CRED}")
    assert revised.returncode == 1, revised.stderr
    v2 = _shown(cli, plan_id)
    assert v2["version"] == 2 and v2["status"] == "denied"
    assert v2["feedback"] == f"Post the total of sales.csv to {HOST}/fin2?apiKey=***"
    assert f"{REFUSED} apiKey" in _deny(v2)
    # Feedback no template matches: the failed revision is recorded, masked.
    failed = cli("--as", "alice", "revise", plan_id, f"use {HOST}/other?secret={CRED} instead")
    assert failed.returncode != 0
    diff = cli("--as", "dave", "plans", "show", plan_id, "--diff")
    assert diff.returncode == 0, diff.stderr
    assert "fin2?apiKey=***" in diff.stdout
    template = cli("--as", "alice", "templates", "add", "--from-plan", plan_id, "--name", "mine")
    assert template.returncode != 0
    ran = cli("--as", "alice", "run", plan_id)
    assert ran.returncode != 0
    _assert_nowhere(cli, data_dir, plan_id, planned, approved, revised, failed, diff, template,
                    ran)


def test_a_masked_plan_never_runs_even_where_the_policies_let_it(cli, data_dir):
    """A policies directory without the rule: the plan, stored masked, would write ``***``
    where its author wrote a credential; it can be neither approved nor run."""
    rules = (SHIPPED_DIR / "secrets.rego").read_text()
    assert "some found in s.url_credentials" in rules
    use_secrets_rules(data_dir, rules.replace(
        "some found in s.url_credentials", "some found in []"))
    version, (planned, approved, ran) = note_plan_tried(cli, data_dir,
                                                        f"see {HOST}/b?token={CRED}")
    assert version["plan"]["steps"][0]["args"]["text"] == f"see {HOST}/b?token=***"
    assert approved.returncode != 0 and ran.returncode != 0
    assert ("cannot be approved: step note: a URL in its arguments carries a literal "
            "credential in parameter token") in words(approved.stderr)
    gate = _shown(cli, version["plan_id"])["gate"]
    assert gate["status"] == "denied" and "parameter token" in gate["reasons"][0]
    assert not (data_dir / "ws" / "note.txt").exists()
    _assert_nowhere(cli, data_dir, version["plan_id"], planned, approved, ran)


def test_a_version_stored_before_credentials_were_masked_is_shown_masked_and_never_runs(
        cli, data_dir):
    """Written straight into the store, as versions were before: every view masks it, the
    stored bytes and hash stay, and it can be neither approved nor run."""
    from baton.services import Services
    from baton.settings import load_settings
    from executor.store.plans import NewVersion
    from planner.base import PlannerKind
    from planner.plan import Plan
    from planner.versions import VersionStatus

    url = f"{HOST}/b?token={CRED}"
    services = Services(load_settings(data_dir / "baton.toml", environ={}))
    plan = Plan.model_validate({"goal": f"note {url}", "steps": [
        {"id": "note", "tool": "files.write", "why": f"keep {url}",
         "args": {"path": "note.txt", "text": f"see {url}"}}]})
    stored = services.plan_store.create_plan(plan.goal, "alice", NewVersion(
        plan=plan, status=VersionStatus.PENDING_APPROVAL, planner=PlannerKind.FILE,
        created_by="alice"))
    shown = cli("--as", "dave", "plans", "show", stored.plan_id)
    version = _shown(cli, stored.plan_id)
    assert version["plan_hash"] == stored.plan_hash
    assert version["goal"] == f"note {HOST}/b?token=***"
    assert version["plan"]["steps"][0]["args"]["text"] == f"see {HOST}/b?token=***"
    listed = cli("--as", "dave", "plans", "list", "--json")
    approved = cli("--as", "bob", "approve", stored.plan_id)
    assert approved.returncode != 0 and "parameter token" in words(approved.stderr)
    ran = cli("--as", "alice", "run", stored.plan_id)
    assert ran.returncode != 0
    for out in (shown, listed, approved, ran):
        assert CRED not in out.stdout + out.stderr
    assert not (data_dir / "ws" / "note.txt").exists()
