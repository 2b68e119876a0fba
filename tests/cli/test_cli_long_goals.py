"""Long goals: ``plan "GOAL"`` takes at most the API's goal length, and ``plans list`` shows
a bounded part of a goal whatever its length.

The CLI had no cap: one 2 MB goal (planned, or in a plan file) made ``plans list --limit 1``
print 200,004 lines, re-fitting the table to the goal's words again and again.
"""

from __future__ import annotations

import json

from baton.limits import GOAL_MAX_CHARS

WORDS = "copy the export now " * 10_000  # 200,000 characters, 40,000 words


def test_a_goal_past_the_limit_is_a_usage_error_and_nothing_is_stored(cli, plan_id):
    goal = "x" * (GOAL_MAX_CHARS + 1)
    done = cli("--as", "alice", "plan", goal)
    assert done.returncode == 2, done
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and f"at most {GOAL_MAX_CHARS}" in line, line
    assert f"{GOAL_MAX_CHARS + 1}" in line and "x" * 100 not in line
    assert [p["plan_id"] for p in json.loads(cli("plans", "list", "--json").stdout)] == [plan_id]


def test_plans_list_shows_a_bounded_part_of_a_long_goal_marked_cut(cli, data_dir):
    (data_dir / "long.json").write_text(json.dumps({"goal": WORDS, "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]}))
    planned = cli("--as", "alice", "plan", "--file", "long.json", "--json")
    assert planned.returncode == 0, planned.stderr
    listed = cli("plans", "list", "--limit", "1")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) < 30, len(listed.stdout.splitlines())
    assert "…" in listed.stdout
    stored = json.loads(cli("plans", "list", "--json").stdout)[0]["goal"]
    assert stored == WORDS.strip()  # the listing cuts what it shows, not what is stored


def test_a_short_goal_is_listed_whole(cli, plan_id):
    listed = cli("plans", "list")
    assert listed.returncode == 0, listed.stderr
    assert "export" in listed.stdout and "…" not in listed.stdout
