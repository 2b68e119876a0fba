"""`baton plan` and `baton revise` with text the ledger cannot hold: a clear error, exit 2.

Python hands undecodable command-line bytes over as lone surrogates; they used to reach the
model and then crash storing the goal with a UnicodeEncodeError traceback, the ledger left
empty. Refused up front instead, a usage error as an empty goal is (exit 2, not 1).
"""

from __future__ import annotations

from tests.cli.test_cli_plan import _json, baton, llm_env  # noqa: F401 - fixtures

UNDECODED = "Read sales.csv \udcff\udcfe"  # b"\xff\xfe" as sys.argv holds it


def assert_refused(result, what: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: the {what} cannot be recorded: ")
    assert "lone surrogate" in result.stderr and "Traceback" not in result.stderr


def test_a_goal_with_a_nul_is_a_usage_error_too(baton, llm_env):  # noqa: F811
    result = baton("plan", "Read sales\x00.csv")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: the goal cannot be recorded: ")
    assert "NUL" in result.stderr and "Traceback" not in result.stderr
    assert llm_env.requests == []


def test_an_undecodable_goal_is_refused_before_the_model_is_asked(baton, llm_env, data_dir):  # noqa: F811
    assert_refused(baton("plan", UNDECODED), "goal")
    assert llm_env.requests == []
    assert not (data_dir / "data" / "baton.db").exists()  # nothing recorded, not even a database


def test_undecodable_feedback_is_refused_and_the_plan_keeps_its_version(baton):  # noqa: F811
    plan_id = _json(baton("plan", "--json", "Copy sales.csv to archive/sales.csv"))["plan_id"]
    events = _json(baton("audit", "show", "--json"))
    assert_refused(baton("revise", plan_id, UNDECODED), "feedback")
    assert _json(baton("audit", "show", "--json")) == events
    assert _json(baton("plans", "show", plan_id, "--json"))["version"] == 1
