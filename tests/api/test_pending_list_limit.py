"""What waits for approval past a listing's limit is never dropped without a word.

The web queue's "more than 1000 wait" notice (and the README) sent approvers to ``baton plans
list --status pending_approval`` to "list them all", and the README said ``GET /api/v1/plans?
status=pending_approval`` "lists every version waiting": both stop at 50 (their default
limit), and the command said nothing of the plans left out. The notice now names ``--limit
N``; the command says when more follow and how to list them; the API says what its limit is.
"""

from __future__ import annotations

import json
import re

import pytest

from baton.api import create_app
from baton.cli.common import console
from baton.services import Services
from tests.support.cli_in_process import in_process_baton
from tests.support.gate_services import BACKENDS, database_url
from tests.support.web_pages import page_as

from .live import make_settings

CONFIG = '[users.alice]\nroles = ["analyst"]\n\n[users.root]\nroles = ["admin"]\n'
PLAN = {"goal": "read the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "b.csv", "text": {"ref": "load.text"}}}]}
HINT = "--limit N"


@pytest.fixture(params=BACKENDS)
def cli(request, data_dir, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(console, "_width", 200)
    (data_dir / "baton.toml").write_text(CONFIG, encoding="utf-8")
    (data_dir / "plan.json").write_text(json.dumps(PLAN), encoding="utf-8")
    with database_url(request.param, tmp_path) as url, in_process_baton(capsys) as run:
        monkeypatch.setenv("BATON_DATABASE_URL", url)
        yield run


def _listed(cli, *args: str) -> tuple[list[str], str]:
    shown = cli("--as", "root", "plans", "list", *args, "--json")
    text = cli("--as", "root", "plans", "list", *args)
    assert shown.returncode == 0 and text.returncode == 0, shown.stderr + text.stderr
    return [row["plan_id"] for row in json.loads(shown.stdout)], " ".join(text.stdout.split())


def test_plans_list_says_when_more_follow_its_limit_and_how_to_list_them(cli):
    planned = [cli("--as", "alice", "plan", "--file", "plan.json", "--json") for _ in range(3)]
    newest = [json.loads(done.stdout)["plan_id"] for done in reversed(planned)]
    ids, text = _listed(cli, "--status", "pending_approval", "--limit", "2")
    assert ids == newest[:2] and all(plan_id in text for plan_id in ids), text
    assert "the newest 2 shown; more wait for approval" in text and HINT in text, text
    ids, text = _listed(cli, "--status", "pending_approval", "--limit", "3")
    assert ids == newest and HINT not in text, text  # exactly the limit: nothing more waits
    ids, text = _listed(cli, "--limit", "1")
    assert ids == newest[:1] and "the newest 1 shown; more plans follow" in text, text
    assert HINT not in _listed(cli)[1]


def test_the_queue_notice_names_the_limit_that_lists_them_all(tmp_path, monkeypatch):
    import baton.web.views as views
    from baton.usecases.plans import plan_from_document

    monkeypatch.setattr(views, "QUEUE_LIMIT", 1)
    services = Services(make_settings(tmp_path))
    for _ in range(2):
        plan_from_document(services, PLAN, services.settings.users["alice"])
    page = " ".join(page_as(services, "bob", "/").split())
    notice = re.search(r'data-testid="queue-more">(.*?)</p>', page)
    assert notice and "baton plans list --status pending_approval --limit N" in notice[1], page


def test_the_api_says_what_its_limit_lists(tmp_path):
    document = create_app(Services(make_settings(tmp_path)), worker_poll_s=None).openapi()
    params = {p["name"]: p for p in document["paths"]["/api/v1/plans"]["get"]["parameters"]}
    status, limit = params["status"]["description"], params["limit"]
    assert "every version" not in status and "newest first" in status, status
    assert limit["schema"]["maximum"] == 500 and "500" in limit["description"], limit
    assert "baton plans list --limit N" in limit["description"], limit
