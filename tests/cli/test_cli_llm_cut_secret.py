"""What the planner quotes cut short of a reply or an endpoint's body shows no part of a
configured secret that the cut went through.

The problem of an ``args_json`` that is not an object quoted its first 80 characters, and an
endpoint's refusal its first 300 (a body that is not a completion, 120): cut before the
configured secrets were masked and without the cut mark, the start of a secret crossing the
cut reached the repair request, the stored problems, the ledger and stderr, where masking
the finished text could not recognise it.
"""

from __future__ import annotations

import json

import pytest

from evals.scripted_server import Raw
from tests.support.openai_server import Completion, Failure
from tests.support.url_secrets_cli import auditor_views, llm_baton, table_rows

SECRET = "crm-SUPERSECRET-VALUE-42"
SHOWN_START = SECRET[:4]  # masking recognises a secret's start of 4 characters or more


@pytest.fixture
def baton(data_dir, monkeypatch, capsys, openai_server):
    """``baton`` in-process, the LLM planner on the scripted endpoint, a secret set."""
    settings = f'[secrets]\nCRM_TOKEN = "{SECRET}"\n\n[llm]\nretries = 0\n'
    with llm_baton(data_dir, monkeypatch, capsys, openai_server, settings) as run:
        yield run


def _everything_shown(baton, openai_server, data_dir, planned) -> str:  # noqa: F811
    (listed,) = json.loads(baton("plans", "list", "--json").stdout)
    views = auditor_views(baton, listed["plan_id"])
    return "\n".join([planned.stdout, planned.stderr, json.dumps(openai_server.requests),
                      *(v.stdout for v in views), table_rows(data_dir / "data" / "baton.db")])


@pytest.mark.parametrize("filler", [66, 74])  # the cut leaves 12 or 4 of its characters
def test_an_args_json_quoted_cut_short_shows_no_part_of_a_secret(
        baton, openai_server, data_dir, filler):
    step = {"id": "load", "tool": "files.read", "args_json": json.dumps("x" * filler + SECRET),
            "depends_on": [], "why": "read it", "retry": None, "timeout_s": None}
    openai_server.script(*[Completion(content=json.dumps({"steps": [step]}))] * 3)
    planned = baton("plan", "Read sales.csv")
    assert planned.returncode != 0
    assert "args_json must encode a JSON object of arguments" in planned.stderr
    assert "x" * 20 in planned.stderr  # the value is quoted, cut short
    assert SHOWN_START not in _everything_shown(baton, openai_server, data_dir, planned)


def test_an_endpoint_refusal_quoted_cut_short_shows_no_part_of_a_secret(
        baton, openai_server, data_dir):
    # Whatever the body's framing, one of these secrets crosses the 300th character.
    message = " ".join(f"{n:02d}{SECRET}" for n in range(20))
    openai_server.script(Failure(status=400, body={"error": {"message": message}}))
    planned = baton("plan", "Read sales.csv")
    assert planned.returncode != 0
    assert "rejected the request (HTTP 400)" in planned.stderr
    assert SHOWN_START not in _everything_shown(baton, openai_server, data_dir, planned)


def test_a_body_that_is_not_a_completion_quoted_cut_short_shows_no_part_of_a_secret(
        baton, openai_server, data_dir):
    # The excerpt is 120 characters: the fourth secret crosses the cut.
    secrets = " ".join(f"{n:02d}{SECRET}" for n in range(10))
    page = f"<html><body><p>{secrets}</p></body></html>"
    openai_server.script(Raw(body=page, content_type="text/html"))
    planned = baton("plan", "Read sales.csv")
    assert planned.returncode != 0
    assert "not a chat completion" in planned.stderr
    assert SHOWN_START not in _everything_shown(baton, openai_server, data_dir, planned)
