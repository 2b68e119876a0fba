"""Saving a plan as a template: the goal skeleton replaces each value where the goal names it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner.plan import Plan
from planner.templates import template_from_plan

ROOT = Path(__file__).resolve().parents[2]
COPY = {"goal": "Copy sales.csv to sales", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "sales", "text": {"ref": "load.text"}}}]}


@pytest.mark.parametrize("params", [{"src": "sales.csv", "dst": "sales"},
                                    {"dst": "sales", "src": "sales.csv"}])
def test_a_value_inside_another_is_replaced_where_the_goal_names_it(params):
    template = template_from_plan(Plan.model_validate(COPY), name="copy", params=params)
    assert template.plan["goal"] == "Copy {{src}} to {{dst}}"
    assert template.patterns == ("Copy {src} to {dst}",)


def test_the_goal_keeps_its_spacing_and_full_stop_around_the_replaced_values():
    plan = Plan.model_validate({**COPY, "goal": "  Copy sales.csv to sales."})
    template = template_from_plan(plan, name="copy", params={"dst": "sales", "src": "sales.csv"})
    assert template.plan["goal"] == "  Copy {{src}} to {{dst}}."


def test_the_goal_skeleton_does_not_depend_on_the_hash_seed():
    script = ("from planner.plan import Plan\nfrom planner.templates import template_from_plan\n"
              f"plan = Plan.model_validate({COPY!r})\n"
              "t = template_from_plan(plan, name='c',"
              " params={'src': 'sales.csv', 'dst': 'sales'})\n"
              "print(t.plan['goal'])\n")
    goals = {
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                       check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("0", "1", "2", "3")
    }
    assert goals == {"Copy {{src}} to {{dst}}"}
