"""An empty goal or feedback is a usage error (exit 2), as an empty ``reject --reason`` is."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("goal", ["", "   \n"])
def test_an_empty_goal_exits_2(cli, goal):
    done = cli("--as", "alice", "plan", goal)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: the goal is empty; describe what you want done")


def test_empty_feedback_exits_2(cli, plan_id):
    done = cli("--as", "alice", "revise", plan_id, "  ")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: the feedback is empty; say what should change")


def test_an_empty_rejection_reason_exits_2_too(cli, plan_id):
    assert cli("--as", "bob", "reject", plan_id, "--reason", "").returncode == 2
