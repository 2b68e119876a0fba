"""Templates held to what the README promises (docs review, /tmp/rev-docs/repros 02, 03, 05, 06).

A template file is read by the strict reader plan files are read by: a tag (``!!int 017``
read 15, ``!!bool yes`` true), a merge key or a key written twice was applied in a template
while a plan file refuses it. ``--param`` never makes a reference's target a parameter, and
a literal whose every place an earlier ``--param`` took says so whatever the order. A
template that makes an invalid plan shows the plan's problems, and blames a tool only when
one is missing.
"""

from __future__ import annotations

import pytest

from planner.base import PlanningError
from planner.plan import Plan
from planner.templates import (
    TemplateError,
    TemplateLibrary,
    TemplatePlanner,
    read_new_template,
    template_from_plan,
)
from tests.support.cli_in_process import in_process_baton

HEAD = 'name: tagged\npatterns: ["tagged go"]\n'
STEP = 'plan: {steps: [{id: a, tool: json.query, args: {data: DATA, expression: "@"}}]}\n'


@pytest.mark.parametrize(("data", "said"), [
    ("{code: !!int 017}", "is not a JSON number"),
    ("{ok: !!bool yes}", "is not a JSON boolean"),
    ("!!binary aGVsbG8=", "the tag '!!binary'"),
    ("!!set {a}", "the tag '!!set'"),
    ("{<<: {x: 1}, y: 2}", "the tag '!!merge'"),
    ("{x: 1, x: 2}", "key 'x' appears twice"),
])
def test_what_a_plan_file_refuses_a_template_file_refuses_naming_file_and_line(
        tmp_path, data, said):
    path = tmp_path / "tagged.v1.yaml"
    path.write_text(HEAD + STEP.replace("DATA", data))
    for read in (lambda: read_new_template(path), lambda: TemplateLibrary.load([tmp_path])):
        with pytest.raises(TemplateError) as caught:
            read()
        message = caught.value.message
        assert message.startswith(f"{path}: ") and said in message and "line 3, column" in message
        assert "\n" not in message


def test_a_timestamp_tag_stays_the_text_written_as_in_a_plan(tmp_path):
    path = tmp_path / "stamp.yaml"
    path.write_text(HEAD + STEP.replace("DATA", "!!timestamp 2024-01-01"))
    assert read_new_template(path).plan["steps"][0]["args"]["data"] == "2024-01-01"


def test_a_refused_anchor_says_template_with_its_line(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text('name: x\npatterns: &p ["x"]\nexample_goals: *p\nplan: {steps: []}\n')
    with pytest.raises(TemplateError) as caught:
        read_new_template(path)
    assert caught.value.message == (f"{path}: anchors and aliases (&p, *p) are not allowed in a "
                                    "template (line 2, column 11); write each value out")


SHOW = Plan.model_validate({"goal": "show load.text of sales.csv", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "show", "tool": "json.query", "args": {"data": {"ref": "load.text"}, "expression": "@"}},
    {"id": "whole", "tool": "json.query", "args": {"ref": "show.value"}}]})


@pytest.mark.parametrize(("path", "ref"), [
    ("$.steps[1].args.data.ref", "load.text"), ("$.steps.whole.args.ref", "show.value")])
def test_a_reference_target_is_never_made_a_parameter(path, ref):
    with pytest.raises(TemplateError) as caught:
        template_from_plan(SHOW, name="show-ref", params={"src": path})
    assert caught.value.message == (
        f"parameter src: {path} is the target of a reference ({{'ref': {ref!r}}}), which a "
        "parameter never replaces: whoever used the template would choose which step output "
        "is read; name a value instead")


def test_a_literal_every_place_of_which_a_path_took_names_the_parameter_that_took_it():
    plan = Plan.model_validate({"goal": "Copy sales.csv to b/sales.csv", "steps": [
        {"id": "copy", "tool": "files.copy", "args": {"path": "sales.csv", "dst": "b.csv"}}]})
    with pytest.raises(TemplateError) as caught:
        template_from_plan(plan, name="c2", params={"x": "$.steps[0].args.path", "y": "sales.csv"})
    assert caught.value.message == (
        "parameter y: $.steps[0].args.path is already parameter x; give each value one parameter")


CYCLE = ("name: cyc\nexample_goals: [cyc a]\npatterns: ['cyc a']\nplan: {steps: ["
         "{id: a, tool: files.read, args: {path: {ref: b.text}}},"
         " {id: b, tool: files.read, args: {path: {ref: a.text}}}]}\n")


def _invalid(tmp_path, text: str, registry) -> PlanningError:
    (tmp_path / "t.yaml").write_text(text)
    planner = TemplatePlanner(TemplateLibrary([read_new_template(tmp_path / "t.yaml")]))
    with pytest.raises(PlanningError) as caught:
        planner.plan("cyc a", registry)
    assert caught.value.code == "template_invalid" and caught.value.problems
    return caught.value


def test_an_invalid_plan_from_a_template_blames_a_tool_only_when_one_is_missing(
        tmp_path, registry):
    cycle = _invalid(tmp_path, CYCLE, registry)
    count = len(cycle.problems)
    assert cycle.message == (f"template cyc v1 made an invalid plan ({count} problem(s)); "
                             "fix the template")
    missing = _invalid(tmp_path, CYCLE.replace("tool: files.read", "tool: files.nope"), registry)
    assert missing.message.endswith("a tool it uses is missing: add the tool or fix the template")


CONFIG = 'workspace = "ws"\n[users.alice]\nroles = ["analyst"]\n'


@pytest.fixture
def cli(data_dir, capsys):
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    with in_process_baton(capsys) as run:
        yield run


def test_the_cli_refuses_a_tagged_template_and_shows_a_template_plan_s_problems(cli, data_dir):
    tagged = data_dir / "octal.yaml"
    tagged.write_text("name: octal\nexample_goals: [octal go]\npatterns: [octal go]\n"
                      + STEP.replace("DATA", "{code: !!int 017}"))
    added = cli("--as", "alice", "templates", "add", "octal.yaml")
    assert added.returncode == 1, added
    assert added.stderr.startswith("error: octal.yaml: 017 (line 4, column")
    templates = data_dir / ".baton" / "templates"
    templates.mkdir(parents=True)
    (templates / "octal.v1.yaml").write_text(tagged.read_text())
    planned = cli("--as", "alice", "plan", "octal go")
    assert planned.returncode == 1, planned
    assert "octal.v1.yaml: 017 (line 4, column" in planned.stderr
    assert "fix or remove the file" in planned.stderr
    (templates / "octal.v1.yaml").unlink()
    (templates / "cyc.v1.yaml").write_text(CYCLE)
    planned = cli("--as", "alice", "plan", "cyc a")
    assert planned.returncode == 1, planned
    lines = planned.stderr.splitlines()
    assert lines[0].startswith("error: template cyc v1 made an invalid plan (")
    assert any(line.startswith("  - [cycle]") for line in lines[1:])
    assert lines[-1].startswith("(recorded as plan ")
    plan_id = lines[-1].split()[3]
    revised = cli("--as", "alice", "revise", plan_id, "cyc a", "--planner", "template")
    assert revised.returncode == 1, revised
    assert revised.stderr.splitlines()[1].startswith("  - [cycle]"), revised.stderr
