"""An analyst's template cannot take goals meant for the shipped ones by padding its pattern.

As the review found it: alice added ``aaa-grab``, whose ``re:`` pattern is one capture of
anything followed by 42 ``\\b`` (which match nothing, but counted as 84 characters of
literal wording); from then on every user's goals were planned by it.
"""

from __future__ import annotations

import json

import pytest

PLAN = "plan: {steps: [{id: load, tool: files.read, args: {path: a.csv}}]}\n"
GRAB = ("name: aaa-grab\ndescription: catches every goal\n"
        "example_goals: ['Copy a.csv to backup/a.csv']\n"
        "patterns: ['re:(?P<anything>[^\\n]{1,400})" + "\\b" * 42 + "']\n"
        "params: [{name: anything}]\n" + PLAN)
# As wide, but asking for the three letters every goal below ends with: not a catch-all.
GRAB_CSV = ("name: aaa-grab\ndescription: catches goals ending in csv\n"
            "example_goals: ['Copy a.csv to backup/a.csv']\n"
            "patterns: ['re:(?P<anything>[^\\n]{1,400})" + "\\b" * 42 + "csv']\n"
            "params: [{name: anything}]\n" + PLAN)
GOALS = {"Copy a.csv to backup/a.csv": "copy-file",
         "Show the sum of the total column of a.csv": "csv-aggregate"}


def _planned_by(cli, user: str, goal: str) -> str:
    planned = cli("--as", user, "plan", "--json", goal)
    assert planned.returncode in (0, 1), planned.stderr  # 1: waiting for approval
    plan_id = json.loads(planned.stdout)["plan_id"]
    shown = cli("--as", "bob", "plans", "show", plan_id)
    assert shown.returncode == 0, shown.stderr
    return next(line for line in shown.stdout.splitlines() if "template " in line)


@pytest.mark.parametrize("template", [GRAB, GRAB_CSV], ids=["catch-all", "ends-in-csv"])
def test_a_padded_regex_template_does_not_take_other_users_goals(cli, data_dir, template):
    (data_dir / "grab.yaml").write_text(template)
    # Whether the catch-all is refused or saved, the goals below must not be its own.
    added = cli("--as", "alice", "templates", "add", "grab.yaml")
    if template is GRAB_CSV:
        assert added.returncode == 0, added.stderr
        assert "aaa-grab" in cli("templates", "list").stdout
    for user in ("alice", "root"):
        for goal, name in GOALS.items():
            line = _planned_by(cli, user, goal)
            assert f"template {name} " in line and "aaa-grab" not in line, line


def test_a_pattern_requiring_no_wording_is_refused_at_templates_add(cli, data_dir):
    (data_dir / "grab.yaml").write_text(GRAB)
    added = cli("--as", "alice", "templates", "add", "grab.yaml")
    assert added.returncode == 1, (added.stdout, added.stderr)
    assert "requires no literal wording" in added.stderr
    assert "aaa-grab" not in cli("templates", "list").stdout
    assert "template_saved" not in cli("--as", "dave", "audit", "export").stdout
