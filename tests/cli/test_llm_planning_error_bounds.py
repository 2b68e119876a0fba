"""`baton plan` when the model's replies quote huge values until the attempts run out:
the error shown and recorded in the ledger is bounded, and a configured secret the
error's cuts fall near is masked whole, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.support.cli_in_process import in_process_baton
from tests.support.gate_services import BACKENDS, database_url
from tests.support.openai_server import Completion

CHAT_TOKEN = "xoxb-CONFIGURED-SECRET-777777"
BATON_TOML = f"""
[users.alice]
roles = ["analyst"]

[secrets]
CHAT_TOKEN = "{CHAT_TOKEN}"
"""
ERROR_BOUND = 40_000  # twenty problem lines of at most about a kB each, and a few words


@pytest.fixture(params=BACKENDS)
def baton(request, data_dir, monkeypatch, capsys, openai_server):
    (data_dir / "baton.toml").write_text(BATON_TOML)
    monkeypatch.setenv("BATON_DATA_DIR", str(data_dir / "data"))
    monkeypatch.setenv("BATON_USER", "alice")
    monkeypatch.setenv("BATON_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("BATON_LLM_MODEL", "scripted")
    with database_url(request.param, data_dir) as url:
        monkeypatch.setenv("BATON_DATABASE_URL", url)
        with in_process_baton(capsys) as run:
            yield run


def _huge_reply() -> str:
    """Twenty-five unknown tools of 50 kB; the first twenty hold the token a few characters
    further on each, so that wherever a problem line is cut, one has the token across it."""
    tools = ["t" * offset + CHAT_TOKEN + "t" * 50_000 for offset in range(500, 700, 10)]
    tools += [f"u{i}" + "u" * 50_000 for i in range(5)]
    return json.dumps({"steps": [{"id": f"s{i}", "tool": tool, "args_json": "{}"}
                                 for i, tool in enumerate(tools)]})


def _assert_bounded_and_masked(error: str) -> None:
    assert len(error) < ERROR_BOUND  # about 1.25 MB before
    assert error.count("[unknown_tool]") == 20 and "... and 5 more problem(s)" in error
    assert "[REDACTED]" in error
    pieces = {CHAT_TOKEN[i:i + 6] for i in range(len(CHAT_TOKEN) - 5)}
    assert not {piece for piece in pieces if piece in error}  # the token in no part


def test_a_planning_out_of_attempts_shows_and_records_a_bounded_masked_error(
        baton, openai_server):
    openai_server.reject_formats = {"json_schema"}  # strict mode would forbid the names
    openai_server.script(*[Completion(content=_huge_reply())] * 3)
    failed = baton("plan", "Read sales.csv")
    assert failed.returncode == 1, failed.stderr[:2000]
    assert "gave no valid plan in 3 attempt(s)" in failed.stderr
    _assert_bounded_and_masked(failed.stderr)
    plan_id = failed.stderr.split("(recorded as plan ")[1].split()[0]

    shown = baton("audit", "show", "--json", "--subject", plan_id)
    assert shown.returncode == 0, shown.stderr[:2000]
    (validation,) = [e for e in json.loads(shown.stdout) if e["kind"] == "validation"]
    _assert_bounded_and_masked(validation["payload"]["error"])
