"""Plan diffs compare what is hashed: canonical JSON, where false, 0 and 0.0 are three values."""

from __future__ import annotations

from typing import Any

import pytest

from planner import Plan
from planner.diff import changed_paths, diff_plans


def plan_with(value: Any, *, extra: Any = "same") -> Plan:
    return Plan.model_validate({"goal": "g", "steps": [
        {"id": "post", "tool": "http.post", "args": {"url": "u", "json": {"v": value, "w": [extra]}}}]})


@pytest.mark.parametrize("before, after, path", [
    (False, 0, "$.args.json.v"), (True, 1, "$.args.json.v"), (1, 1.0, "$.args.json.v"),
    (0, 0.0, "$.args.json.v"), (0.0, -0.0, "$.args.json.v"), ([False], [0], "$.args.json.v[0]"),
    ({"k": True}, {"k": 1}, "$.args.json.v.k"),
])
def test_values_python_calls_equal_but_json_does_not_are_a_change(before, after, path):
    diff = diff_plans(plan_with(before), plan_with(after))
    assert not diff.empty
    assert [(c.step, c.paths) for c in diff.changed] == [("post", (path,))]
    assert plan_with(before).plan_hash() != plan_with(after).plan_hash()


def test_a_change_deep_in_a_list_is_named_by_its_path():
    diff = diff_plans(plan_with(1, extra=False), plan_with(1, extra=0))
    assert [c.paths for c in diff.changed] == [("$.args.json.w[0]",)]


def test_equal_plans_have_an_empty_diff():
    assert diff_plans(plan_with(1.5), plan_with(1.5)).empty


def test_changed_paths_names_only_the_leaves_that_differ():
    old = {"a": 1, "b": [True, 2], "c": {"d": None}}
    new = {"a": 1.0, "b": [1, 2], "c": {"d": None}, "e": 0}
    assert changed_paths(old, new, "$") == ["$.a", "$.b[0]", "$.e"]
