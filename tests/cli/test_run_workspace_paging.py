"""``baton run`` of a plan that reads a workspace file, POSTs it, fetches the URL the answer
names and saves that page, through the real services (``PolicyRuntimeCheck``).

When the POST runs, the fetch's URL is not known yet, so neither is where the workspace
file the plan writes later came from. Such a source denies a call only when the policy data
could place that host in a region; with no ``host_regions`` there is nothing residency could
judge, and the plan runs. It used to be denied whatever the data said, with advice (run the
POST after the fetch) that makes a cycle. The shipped data's example ``host_regions`` could
place such a host: there the POST stays denied.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_in_process import in_process_baton
from tests.support.http_server import Reply

CONFIG = """
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]

[users.carol]
roles = ["approver"]

[policy.data]
egress_allowlist = ["127.0.0.1"]
"""

Baton = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def baton(data_dir: Path, capsys) -> Iterator[Baton]:
    """``baton(*args, user="alice")`` in-process, in a workspace with ``cfg.txt``."""
    (data_dir / "ws").mkdir()
    (data_dir / "ws" / "cfg.txt").write_text("query")
    with in_process_baton(capsys) as run:
        def as_user(*args: str, user: str = "alice") -> subprocess.CompletedProcess[str]:
            return run(*args, env={"COLUMNS": "200", "BATON_USER": user})

        yield as_user


def _paging(search_url: str) -> dict[str, Any]:
    return {"goal": "search and save the next page", "steps": [
        {"id": "cfg", "tool": "files.read", "args": {"path": "cfg.txt"}},
        {"id": "ask", "tool": "http.request",
         "args": {"method": "POST", "url": search_url, "body": {"ref": "cfg.text"}}},
        {"id": "page", "tool": "http.request", "args": {"url": {"ref": "ask.json.next"}}},
        {"id": "save", "tool": "files.write",
         "args": {"path": "page.txt", "text": {"ref": "page.text"}}}]}


def _run(baton: Baton, data_dir: Path, plan: dict[str, Any]) -> dict[str, Any]:
    (data_dir / "plan.json").write_text(json.dumps(plan))
    planned = baton("plan", "--file", "plan.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    for approver in ("bob", "carol"):  # a POST out with the file's text: risk 60, two
        approved = baton("approve", plan_id, user=approver)
        assert approved.returncode == 0, approved.stderr + approved.stdout
    done = baton("run", plan_id, "--json")
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def _serve_pages(http_server) -> None:
    http_server.script("/search", Reply(body={"next": http_server.url("/page/2")}))
    http_server.script("/page/2", Reply(body="page two"))


def test_with_no_host_regions_the_paging_plan_runs(baton, data_dir, http_server):
    (data_dir / "baton.toml").write_text(CONFIG + "host_regions = {}\n")
    _serve_pages(http_server)
    record = _run(baton, data_dir, _paging(http_server.url("/search")))
    assert record["status"] == "succeeded", [s["error"] for s in record["steps"]]
    assert (data_dir / "ws" / "page.txt").read_text() == "page two"
    assert http_server.requests("/search")[0].body == b"query"


def test_where_host_regions_could_place_the_page_the_post_stays_denied(
        baton, data_dir, http_server):
    (data_dir / "baton.toml").write_text(CONFIG)  # the shipped example host_regions
    _serve_pages(http_server)
    record = _run(baton, data_dir, _paging(http_server.url("/search")))
    assert record["status"] == "failed"
    assert http_server.count() == 0
    error = next(s for s in record["steps"] if s["step_id"] == "ask")["error"]
    assert "write step page's URL in the plan" in error, error
