"""`baton templates add --pre-approved`: every parameter bounded, refusals exit 2.

The walkthrough that found it: an admin saved an approved "total into ttl.json" plan
as a pre-approved template with `--param target=ttl.json` and no bound, and an analyst's
"... and write it to a.csv" (overwriting the source data) became a standard change with
no approval at all.
"""

from __future__ import annotations

import json

import pytest

GOAL = "Total the total column of a.csv and write it to {}"


@pytest.fixture
def approved(cli) -> str:
    """An approved plan writing ttl.json: alice asked for it, bob approved it."""
    planned = cli("--as", "alice", "plan", "--json", GOAL.format("ttl.json"))
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    return plan_id


def _one_error_line(result) -> str:
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    return line


def _saved(cli) -> set[str]:
    return {t["name"] for t in json.loads(cli("templates", "list", "--json").stdout)}


def test_pre_approving_a_template_with_an_unbounded_parameter_is_refused(cli, approved):
    refused = cli("--as", "root", "templates", "add", "--from-plan", approved, "--name", "fp3",
                  "--pre-approved", "--param", "target=ttl.json")
    assert refused.returncode == 2, refused
    line = _one_error_line(refused)
    assert "target (str: no pattern or enum)" in line
    assert "--param-pattern" in line and "--param-enum" in line
    assert "fp3" not in _saved(cli)


def test_a_bounded_pre_approved_template_no_longer_lets_any_value_through(cli, approved):
    saved = cli("--as", "root", "templates", "add", "--from-plan", approved, "--name", "fp3",
                "--pre-approved", "--param", "target=ttl.json",
                "--param-pattern", r"target=^[a-z]+\.json$")
    assert saved.returncode == 0, saved.stderr
    shown = json.loads(cli("templates", "show", "fp3", "--json").stdout)
    assert shown["params"][0]["pattern"] == r"^[a-z]+\.json$"
    inside = cli("--as", "alice", "plan", "--json", GOAL.format("out.json"))
    assert json.loads(inside.stdout)["status"] == "approved"  # a standard change
    overwrite = cli("--as", "alice", "plan", "--json", GOAL.format("a.csv"))
    assert overwrite.returncode == 1
    assert json.loads(overwrite.stdout)["status"] != "approved"


def test_an_enum_bound_from_the_command_line_is_kept(cli, approved):
    saved = cli("--as", "root", "templates", "add", "--from-plan", approved, "--name", "fp3",
                "--pre-approved", "--param", "target=ttl.json",
                "--param-enum", "target=ttl.json,total.json")
    assert saved.returncode == 0, saved.stderr
    shown = json.loads(cli("templates", "show", "fp3", "--json").stdout)
    assert shown["params"][0]["enum"] == ["ttl.json", "total.json"]


@pytest.mark.parametrize(("extra", "said"), [
    (["--param-pattern", "other=^x$"], "--param-pattern other: no --param other"),
    (["--param-pattern", "target=(["], "--param-pattern target: '([' is not a valid regex"),
    (["--param-pattern", "target"], "--param-pattern 'target': write NAME=REGEX"),
    (["--param-enum", "target=,"], "--param-enum target: give at least one value"),
    (["--param-min", "target=low"], "--param-min target: 'low' is not a number"),
    (["--param-max", "target=inf"], "--param-max target: 'inf' is not a finite number"),
    (["--param-pattern", "target=^a$", "--param-pattern", "target=^b$"],
     "--param-pattern target is given twice"),
])
def test_a_malformed_bound_option_is_a_usage_error_naming_it(cli, approved, extra, said):
    result = cli("--as", "root", "templates", "add", "--from-plan", approved, "--name", "fp3",
                 "--param", "target=ttl.json", *extra)
    assert result.returncode == 2, result
    assert said in _one_error_line(result)
    assert "fp3" not in _saved(cli)


@pytest.mark.parametrize("option", ["--param-pattern", "--param-enum", "--param-min",
                                    "--param-max"])
def test_bound_options_do_not_apply_to_a_template_file(cli, option):
    result = cli("--as", "alice", "templates", "add", "template.yaml", option, "path=1")
    assert result.returncode == 2, result
    assert f"{option} does not apply to FILE" in _one_error_line(result)


def test_an_analyst_marking_a_template_pre_approved_is_a_role_refusal_exit_2(cli, approved):
    refused = cli("--as", "alice", "templates", "add", "--from-plan", approved, "--name", "fp3",
                  "--pre-approved", "--param", "target=ttl.json",
                  "--param-pattern", r"target=^[a-z]+\.json$")
    assert refused.returncode == 2, refused
    line = _one_error_line(refused)
    assert "user 'alice' (analyst) may not mark a template pre-approved" in line
    assert "approver or admin" in line


def test_an_analyst_adding_a_pre_approved_template_file_is_refused_exit_2(cli, data_dir):
    text = (data_dir / "template.yaml").read_text()
    (data_dir / "pre.yaml").write_text("pre_approved: true\n" + text)
    refused = cli("--as", "alice", "templates", "add", "pre.yaml")
    assert refused.returncode == 2, refused
    assert "may not mark a template pre-approved" in _one_error_line(refused)
    assert cli("--as", "root", "templates", "add", "pre.yaml").returncode == 0


def test_a_pre_approved_template_file_with_an_unbounded_parameter_is_refused(cli, data_dir):
    (data_dir / "loose.yaml").write_text(
        "name: loose\npre_approved: true\nexample_goals: ['Read notes.txt']\n"
        "patterns: ['read {path}']\nparams: [{name: path}]\n"
        "plan: {steps: [{id: load, tool: files.read, args: {path: '{{path}}'}}]}\n")
    refused = cli("--as", "root", "templates", "add", "loose.yaml")
    assert refused.returncode == 1, refused
    line = _one_error_line(refused)
    assert "must bound every parameter" in line and "path (str: no pattern or enum)" in line
    assert "loose" not in _saved(cli)


@pytest.mark.parametrize("pattern", [".*", "(?s).*", ".+", r"[\s\S]*", "^.*$"])
def test_a_pattern_that_matches_anything_is_no_bound_exit_2(cli, approved, pattern):
    refused = cli("--as", "root", "templates", "add", "--from-plan", approved, "--name", "fp3",
                  "--pre-approved", "--param", "target=ttl.json",
                  "--param-pattern", f"target={pattern}")
    assert refused.returncode == 2, refused
    line = _one_error_line(refused)
    assert f"target (str: pattern {pattern!r} matches anything)" in line
    assert "a pattern that matches every one of 'a' * 500, '../../etc/passwd'" in line
    assert "fp3" not in _saved(cli)
    inside = cli("--as", "alice", "plan", "--json", GOAL.format("a.csv"))
    assert json.loads(inside.stdout)["status"] != "approved"


OWN_TEMPLATE = """\
name: overwrite-b
description: Overwrite b.csv with a fixed line.
pre_approved: true
approved_by: bob
example_goals: ["Overwrite b.csv"]
patterns: ["overwrite {target}"]
params:
  - {name: target, enum: [b.csv]}
plan:
  steps:
    - {id: save, tool: files.write, args: {path: "{{target}}", text: "changed", overwrite: true}}
"""


def test_who_pre_approves_a_template_cannot_run_their_own_plan_from_it_alone(cli, data_dir):
    """root may add templates, pre-approve them and plan: not all three for one change."""
    (data_dir / "own.yaml").write_text(OWN_TEMPLATE)
    assert cli("--as", "root", "templates", "add", "own.yaml").returncode == 0
    shown = json.loads(cli("templates", "show", "overwrite-b", "--json").stdout)
    assert shown["approved_by"] == "root"  # who saved it, not what the file said
    planned = cli("--as", "root", "plan", "Overwrite b.csv")
    assert planned.returncode == 0, planned.stderr
    assert "not a standard change: root pre-approved template overwrite-b v1" in planned.stdout
    [plan] = json.loads(cli("plans", "list", "--json").stdout)
    assert plan["status"] == "pending_approval"
    ran = cli("--as", "root", "run", plan["plan_id"])
    assert ran.returncode == 1 and "pending_approval, not approved" in ran.stderr
    assert (data_dir / "ws" / "b.csv").exists() is False
    assert cli("--as", "bob", "approve", plan["plan_id"]).returncode == 0
    theirs = json.loads(cli("--as", "alice", "plan", "--json", "Overwrite b.csv").stdout)
    assert theirs["status"] == "approved"  # alice's: a standard change root pre-approved
