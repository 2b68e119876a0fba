"""A decision taken on an input without the shape Baton builds denies, saying what lacks.

The rules deny what they find, and on an input without steps, requester or context they
found nothing: a decision taken on no input at all (what OPA answers to a GET on its Data
API, which a redirected POST becomes) allowed with no approval and risk 0, and so did a
step check without its step.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input, build_step_input, step_call_for
from policies.opa import OpaEngine
from tests.support.policy_tools import policy_registry

SAFE_PLAN = Plan.model_validate({"goal": "list the files", "steps": [
    {"id": "ls", "tool": "files.list", "args": {}}]})
ALICE = Requester(id="alice", roles=("analyst",))
NOW = datetime(2024, 6, 4, 10, tzinfo=UTC)
PLAN_INPUT = build_policy_input(SAFE_PLAN, policy_registry(), requester=ALICE,
                                context=PolicyContext(now=NOW))
STEP_INPUT = build_step_input(step_call_for(SAFE_PLAN, "ls", {}, policy_registry(), run_id="r",
                                            plan_id="p", requester=ALICE), now=NOW)


def _without(document: dict, key: str) -> dict:
    return {k: v for k, v in document.items() if k != key}


def _lacks(deny: tuple[str, ...], what: str) -> bool:
    return any(d.startswith("policy input lacks") and what in d for d in deny)


def test_the_whole_inputs_are_allowed(engine):
    assert engine.decide(PLAN_INPUT).allow
    assert engine.evaluate_step(STEP_INPUT).allow


def test_a_decision_on_no_input_denies(engine):
    decision = engine.decide({})
    assert not decision.allow
    assert _lacks(decision.deny, "steps"), decision.deny


@pytest.mark.parametrize("part", ["steps", "requester", "context"])
def test_a_plan_input_without_a_part_denies_naming_it(engine, part):
    decision = engine.decide(_without(PLAN_INPUT, part))
    assert not decision.allow
    assert _lacks(decision.deny, part), decision.deny


def test_a_plan_input_with_a_step_without_its_tool_denies(engine):
    step = _without(PLAN_INPUT["steps"][0], "tool")
    decision = engine.decide({**PLAN_INPUT, "steps": [step]})
    assert not decision.allow
    assert _lacks(decision.deny, "step 1"), decision.deny


@pytest.mark.parametrize("part", ["step", "requester", "context"])
def test_a_step_input_without_a_part_denies_naming_it(engine, part):
    verdict = engine.evaluate_step(_without(STEP_INPUT, part))
    assert not verdict.allow
    assert _lacks(verdict.deny, part), verdict.deny


@pytest.mark.parametrize("rule", ["decision", "step_decision"])
def test_what_opa_answers_to_a_get_denies(bundle, fake_opa, rule):
    engine = OpaEngine(bundle, fake_opa.url, timeout_s=60.0)
    engine.load()
    answer = requests.get(f"{fake_opa.url}/v1/data/{engine.namespace}/baton_guard/{rule}",
                          timeout=60.0).json()
    assert answer["result"]["allow"] is False, answer
    assert any(d.startswith("policy input lacks") for d in answer["result"]["deny"]), answer
