"""`baton plans show --diff` of a plan's first version says it is the first, whatever the latest."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def two_versions(cli) -> str:
    """A plan alice asked for and then revised: v1 and v2."""
    planned = cli("--as", "alice", "plan", "Copy a.csv to b.csv", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    revised = cli("--as", "alice", "revise", plan_id, "Copy a.csv to c.csv")
    assert revised.returncode == 0, revised.stderr
    return plan_id


def test_diff_of_version_1_of_a_revised_plan_says_it_is_the_first_version(cli, two_versions):
    shown = cli("plans", "show", two_versions, "--diff", "--version", "1")
    assert shown.returncode == 1, shown
    said = " ".join(shown.stderr.split())
    assert f"plan {two_versions} v1 is its first version: nothing before it to compare with" \
        in said, said
    assert "only version" not in said


def test_diff_of_version_2_compares_it_with_version_1(cli, two_versions):
    shown = cli("plans", "show", two_versions, "--diff", "--version", "2", "--json")
    assert shown.returncode == 0, shown.stderr
    diff = json.loads(shown.stdout)
    assert (diff["from"], diff["to"]) == (1, 2)
