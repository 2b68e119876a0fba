"""``approve --comment`` and ``reject --reason`` take at most the API's lengths, and a revision
never sends or records more of a stored rejection reason than an approver may write.

The CLI took a comment or a reason of any length (the API and the web forms refuse more than
``COMMENT_MAX_CHARS`` / ``REASON_MAX_CHARS``), and ``revise`` sent a 50,000-character reason
stored that way to the planner and recorded it whole in the new version's feedback.
"""

from __future__ import annotations

import json

from baton.limits import COMMENT_MAX_CHARS, FEEDBACK_MAX_CHARS, REASON_MAX_CHARS
from baton.services import Services
from baton.settings import load_settings
from baton.usecases.approving import reject
from tests.support.openai_server import Completion

OLD_REASON = "the reason " + "r" * 50_000 + " ends here"


def _one_usage_error(done) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    return line


def _ledger(cli) -> str:
    exported = cli("--as", "dave", "audit", "export")
    assert exported.returncode == 0, exported.stderr
    return exported.stdout


def test_a_comment_past_the_limit_is_a_usage_error_and_nothing_is_recorded(cli, plan_id):
    before, ledger = cli("plans", "show", plan_id, "--json").stdout, _ledger(cli)
    line = _one_usage_error(
        cli("--as", "bob", "approve", plan_id, "--comment", "c" * (COMMENT_MAX_CHARS + 1)))
    assert "--comment" in line and f"at most {COMMENT_MAX_CHARS}" in line, line
    assert f"{COMMENT_MAX_CHARS + 1}" in line and "c" * 100 not in line
    assert cli("plans", "show", plan_id, "--json").stdout == before
    assert _ledger(cli) == ledger


def test_a_comment_at_the_limit_is_taken(cli, plan_id):
    done = cli("--as", "bob", "approve", plan_id, "--comment", "c" * COMMENT_MAX_CHARS, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "approved"


def test_a_reason_past_the_limit_is_a_usage_error_and_the_version_stays_open(cli, plan_id):
    before, ledger = cli("plans", "show", plan_id, "--json").stdout, _ledger(cli)
    line = _one_usage_error(
        cli("--as", "bob", "reject", plan_id, "--reason", "r" * (REASON_MAX_CHARS + 1)))
    assert "--reason" in line and f"at most {REASON_MAX_CHARS}" in line, line
    assert f"{REASON_MAX_CHARS + 1}" in line and "r" * 100 not in line
    assert cli("plans", "show", plan_id, "--json").stdout == before
    assert _ledger(cli) == ledger


def test_a_reason_at_the_limit_is_taken(cli, plan_id):
    done = cli("--as", "bob", "reject", plan_id, "--reason", "r" * REASON_MAX_CHARS, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "rejected"


def _rejected_in_an_old_database(data_dir, plan_id: str, reason: str) -> None:
    """A rejection recorded before any limit held, as an old database may hold one."""
    services = Services(load_settings(data_dir / "baton.toml"))
    try:
        reject(services, plan_id, services.settings.users["bob"], reason=reason)
    finally:
        services.engine.dispose()


def test_a_revision_sends_and_records_at_most_a_reasons_worth_of_an_old_long_rejection(
        llm_cli, data_dir, openai_server):
    planned = llm_cli("--as", "alice", "plan", "--file", "write.json", "--json")
    plan_id = json.loads(planned.stdout)["plan_id"]
    _rejected_in_an_old_database(data_dir, plan_id, OLD_REASON)
    openai_server.script(Completion(content=None, refusal="no"))
    feedback = "f" * FEEDBACK_MAX_CHARS
    revised = llm_cli("--as", "alice", "revise", plan_id, feedback)
    assert revised.returncode == 1 and "refused to plan" in revised.stderr
    (request,) = openai_server.requests
    asked = request["messages"][1]["content"]
    assert f"Feedback on it:\n{feedback}\n" in asked  # the feedback goes whole, as typed
    sent = asked.split("The approver rejected it: ", 1)[1].split("\n\nWrite a new", 1)[0]
    assert len(sent) <= REASON_MAX_CHARS
    kept = sent.index("… [")  # marked cut, so neither reader takes it for the whole reason
    assert kept > REASON_MAX_CHARS // 2 and sent[:kept] == OLD_REASON[:kept]
    assert sent[kept:] == f"… [{len(OLD_REASON) - kept:,} more characters]"
    recorded = [json.loads(line)["payload"] for line in _ledger(llm_cli).splitlines()
                if json.loads(line)["kind"] == "validation"][-1]["feedback"]
    assert recorded == f"{feedback}\n\nThe approver rejected version 1: {sent}"
