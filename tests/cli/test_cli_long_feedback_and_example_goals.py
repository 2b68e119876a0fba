"""``revise PLAN_ID FEEDBACK`` takes at most the API's feedback length, and ``templates list``
shows a bounded part of a long example goal.

The CLI had no cap on feedback (the API refuses more than ``FEEDBACK_MAX_CHARS``): a long one
went to the planner and into the plan's history. ``templates list`` printed a template's
first example goal whole, so a long one made the listing grow with it.
"""

from __future__ import annotations

import json

from baton.limits import FEEDBACK_MAX_CHARS

WORDS = "read the notes now " * 150  # 2,850 characters, 600 words
EXAMPLE = WORDS + "notes.txt"
LONG_EXAMPLE = (f"name: long\nexample_goals: ['{EXAMPLE}']\npatterns: ['{WORDS}{{path}}']\n"
                "params: [{name: path, pattern: '^[a-z.]+$'}]\n"
                "plan: {steps: [{id: load, tool: files.read, args: {path: '{{path}}'}}]}\n")


def _ledger(cli) -> str:
    exported = cli("--as", "dave", "audit", "export")
    assert exported.returncode == 0, exported.stderr
    return exported.stdout


def test_feedback_past_the_limit_is_a_usage_error_and_nothing_is_stored(cli, plan_id):
    before = cli("plans", "show", plan_id, "--json").stdout
    ledger = _ledger(cli)
    done = cli("--as", "alice", "revise", plan_id, "x" * (FEEDBACK_MAX_CHARS + 1))
    assert done.returncode == 2, done
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and f"at most {FEEDBACK_MAX_CHARS}" in line, line
    assert f"{FEEDBACK_MAX_CHARS + 1}" in line and "x" * 100 not in line
    assert cli("plans", "show", plan_id, "--json").stdout == before
    listed = json.loads(cli("plans", "list", "--json").stdout)
    assert [(p["plan_id"], p["version"]) for p in listed] == [(plan_id, 1)]
    assert _ledger(cli) == ledger  # the feedback is not recorded either


def test_feedback_at_the_limit_goes_on_to_the_planner(cli, plan_id):
    done = cli("--as", "alice", "revise", plan_id, "x" * FEEDBACK_MAX_CHARS)
    assert f"at most {FEEDBACK_MAX_CHARS}" not in done.stderr, done.stderr


def test_templates_list_shows_a_bounded_part_of_a_long_example_goal_marked_cut(cli, data_dir):
    (data_dir / "long.yaml").write_text(LONG_EXAMPLE)
    added = cli("--as", "root", "templates", "add", "long.yaml")
    assert added.returncode == 0, added.stderr
    listed = cli("templates", "list")
    assert listed.returncode == 0, listed.stderr
    # At most 200 characters of it: a dozen of its 150 "notes" (wrapped at spaces, kept whole).
    assert 0 < listed.stdout.count("notes") <= 200 // len("read the notes now ") + 1
    assert "…" in listed.stdout
    stored = [t for t in json.loads(cli("templates", "list", "--json").stdout)
              if t["name"] == "long"]
    assert stored[0]["example_goals"] == [EXAMPLE]  # the listing cuts what it shows only
