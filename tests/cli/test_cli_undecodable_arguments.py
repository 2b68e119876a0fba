"""Any command: undecodable bytes or a NUL in an argument or option are a usage error (exit 2).

Python hands bytes that are not valid UTF-8 over as lone surrogates; approve --comment,
reject --reason, cancel RUN_ID, audit show --subject and runs show RUN_ID crashed on them
with a raw UnicodeEncodeError traceback. One check, as the arguments are parsed, names
the option or argument before the command runs.
"""

from __future__ import annotations

import pytest

from tests.cli.test_cli_plan import TOTAL_GOAL, _json, baton  # noqa: F401 - fixtures

BAD = "ok\udcff"  # b"ok\xff" as sys.argv holds it


def assert_usage_error(result, label: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.startswith(f"error: {label}: text ")
    assert "lone surrogate" in result.stderr or "NUL" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.fixture
def plan_id(baton):  # noqa: F811
    return _json(baton("plan", "--json", TOTAL_GOAL))["plan_id"]


def test_vetting_text_is_refused_and_nothing_is_recorded(baton, plan_id):  # noqa: F811
    events = _json(baton("audit", "show", "--json"))
    assert_usage_error(baton("--as", "bob", "approve", plan_id, "--comment", BAD), "option --comment")
    assert_usage_error(baton("--as", "bob", "reject", plan_id, "--reason", BAD), "option --reason")
    assert _json(baton("audit", "show", "--json")) == events
    assert _json(baton("plans", "show", plan_id, "--json"))["status"] != "approved"


@pytest.mark.parametrize("args, label", [
    (("cancel", "r-x" + "\udcff"), "argument RUN_ID"),
    (("runs", "show", "r\udcff"), "argument RUN_ID"),
    (("audit", "show", "--subject", BAD), "option --subject"),
    (("audit", "export", "--subject", BAD), "option --subject"),
    (("--as", BAD, "runs", "list"), "option --as"),  # the root group's own options too
    (("runs", "show", "r\x00"), "argument RUN_ID"),  # NUL: PostgreSQL text cannot hold it
])
def test_any_command_names_the_bad_argument(baton, args, label):  # noqa: F811
    assert_usage_error(baton(*args), label)


def test_plan_keeps_its_own_refusal_of_an_undecodable_goal(baton):  # noqa: F811
    result = baton("plan", "Total " + BAD)
    assert result.returncode == 2 and result.stderr.startswith("error: the goal cannot be recorded")
