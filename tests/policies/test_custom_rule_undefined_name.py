"""A rule of one's own that uses a name defined nowhere is refused when the policies compile.

rego-cpp compiled ``s.tool in blocked_toolz`` (only ``blocked_tools`` defined) and the rule
never fired: a deny-only rule that silently does not fire is an allow. OPA refuses it
("var blocked_toolz is unsafe"). The embedded engine finds such a name in the compiled
plan, as a variable that is read but never assigned, and refuses the bundle naming the
file and line, so settings load refuses it (exit 2) as it does a syntax error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, Requester
from policies.embedded import EmbeddedEngine, compile_problem
from policies.inputs import build_policy_input
from tests.policies.test_custom_bundle_refused_at_load import PLAN, USERS, assert_refused, baton
from tests.support.custom_policies import own_bundle
from tests.support.policy_tools import policy_registry

BLOCKED = """package baton

import rego.v1

blocked_tools := {"files.write"}

# Rule: no step may use a blocked tool.
deny contains msg if {
	some s in input.steps
	s.tool in blocked_toolz
	msg := sprintf("step %s: tool %s is blocked", [s.id, s.tool])
}
"""


def _rule(line: str) -> str:
    return ("package baton\n\nimport rego.v1\n\nblocked_tools := {\"files.write\"}\n\n"
            f"deny contains msg if {{\n\tsome s in input.steps\n\t{line}\n\tmsg := \"x\"\n}}\n")


# Each is an error on OPA ("var ... is unsafe"); none ever holds on the embedded engine.
UNSAFE = {
    "misspelt-rule-compared": _rule("s.tool == blocked_tool"),
    "misspelt-rule-as-argument": _rule("count(blocked_toolz) > 0"),
    "misspelt-rule-looked-into": _rule("blocked_toolz[s.tool]"),
    "unassigned-in-a-comprehension": _rule("count([t | some t in input.steps; t in blockd]) > 0"),
    "head-variable-never-assigned": ("package baton\n\nimport rego.v1\n\n"
                                     "deny contains msg if {\n\tsome s in input.steps\n"
                                     "\ts.tool == \"files.write\"\n}\n"),
}


def test_a_misspelt_rule_name_is_refused_naming_the_file_and_line(tmp_path):
    problem = compile_problem(PolicyBundle.load(own_bundle(tmp_path, {"custom.rego": BLOCKED})))
    assert problem is not None
    assert "do not compile" in problem
    assert "custom.rego:10:2" in problem and "s.tool in blocked_toolz" in problem, problem


@pytest.mark.parametrize("name", sorted(UNSAFE))
def test_each_kind_of_unassigned_variable_is_refused(tmp_path, name):
    own = own_bundle(tmp_path, {"custom.rego": UNSAFE[name]})
    problem = compile_problem(PolicyBundle.load(own))
    assert problem is not None and "custom.rego:" in problem, problem


def test_the_rule_spelt_right_compiles_and_denies(tmp_path):
    own = own_bundle(tmp_path, {"custom.rego": BLOCKED.replace("blocked_toolz", "blocked_tools")})
    bundle = PolicyBundle.load(own)
    assert compile_problem(bundle) is None
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "w", "tool": "files.write", "args": {"path": "a.txt", "text": "x"}}]})
    decision = EmbeddedEngine(bundle).decide(build_policy_input(
        plan, policy_registry(), requester=Requester(id="alice", roles=("analyst",)),
        context=PolicyContext(now=datetime(2024, 6, 4, 10, tzinfo=UTC))))
    assert "step w: tool files.write is blocked" in decision.deny


def test_settings_load_refuses_it_with_exit_2(tmp_path: Path):
    own = own_bundle(tmp_path, {"custom.rego": BLOCKED})
    (tmp_path / "plan.json").write_text(PLAN)
    (tmp_path / "baton.toml").write_text(f'policies_dir = "{own}"\n{USERS}')
    assert_refused(baton(tmp_path, "--as", "alice", "policy", "eval", "plan.json", "--json"),
                   "policies_dir", "custom.rego:10:2")
