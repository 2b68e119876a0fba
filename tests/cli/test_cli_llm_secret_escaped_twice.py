"""A configured secret the model writes into ``args_json`` reaches no view of the ledger.

``args_json`` is JSON text inside the reply's JSON: a secret holding ``"``, ``\\`` or
non-ASCII reads there escaped twice (``hunter\\\\\\"2-QUOTED-PASSWORD``). The stored plan and
the repair request masked it, but the reply recorded in the ledger's ``llm_exchange`` kept it
readable, and decoding its ``args_json`` gave the exact secret back.
"""

from __future__ import annotations

import json

import pytest

from tests.support.decodable_secrets import holds_secret
from tests.support.openai_server import Completion
from tests.support.url_secrets_cli import auditor_views, llm_baton, table_rows

QUOTED = 'hunter"2-QUOTED-PASSWORD'
GERMAN = 'Grüße"Kö\\nig-7f3a'  # a quote, a backslash (then n), non-ASCII


@pytest.fixture
def baton(data_dir, monkeypatch, capsys, openai_server):
    """``baton`` in-process, the LLM planner on the scripted endpoint, two secrets set."""
    settings = f"[secrets]\nDB_PASS = {json.dumps(QUOTED)}\nNOTE_KEY = {json.dumps(GERMAN)}\n"
    with llm_baton(data_dir, monkeypatch, capsys, openai_server, settings) as run:
        yield run


def _reply(secret: str, ensure_ascii: bool) -> Completion:
    args = json.dumps({"path": secret}, ensure_ascii=ensure_ascii)
    step = {"id": "load", "tool": "files.read", "args_json": args, "depends_on": [],
            "why": "read it", "retry": None, "timeout_s": None}
    return Completion(content=json.dumps({"steps": [step]}, ensure_ascii=ensure_ascii))


@pytest.mark.parametrize("secret", [QUOTED, GERMAN])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_a_secret_in_args_json_is_in_no_ledger_view_in_any_decodable_form(
        baton, openai_server, data_dir, secret, ensure_ascii):
    openai_server.script(*[_reply(secret, ensure_ascii)] * 3)
    planned = baton("plan", "--json", "Read sales.csv")
    plan_id = json.loads(planned.stdout)["plan_id"]
    shown = baton("--as", "dave", "audit", "show", "--json", "--subject", plan_id)
    exchanges = [e["payload"] for e in json.loads(shown.stdout) if e["kind"] == "llm_exchange"]
    assert exchanges
    for exchange in exchanges:  # the reply recorded, still a reply whose arguments decode
        (step,) = json.loads(exchange["reply"])["steps"]
        assert json.loads(step["args_json"]) == {"path": "[REDACTED]"}
    views = [planned, *auditor_views(baton, plan_id)]
    for view in views:
        assert not holds_secret(view.stdout + view.stderr, secret), view.args
    assert not holds_secret(table_rows(data_dir / "data" / "baton.db"), secret)
    assert baton("--as", "dave", "audit", "verify").returncode == 0
