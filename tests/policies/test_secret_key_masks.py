"""A secret written as a key is masked in the path of every finding under it, however many
findings there are, before the run and at run time, on both backends. The policy masks each
name a path quotes that a secret pattern matches (it once masked every string a pattern
matched, found again for every finding: 300 findings took 100 s; bench_policy's to time).
"""

from __future__ import annotations

import pytest

from planner.plan import Plan
from policies.contracts import StepCall
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, NOON

URL = "https://api.internal.example/in"
PASSWORD = "Zk3x9QpLm2Vb7RtYw"


def _key(i: int) -> str:
    return f"AKIA{i:016d}"


def _looks_random(path: str) -> str:
    return (f"step send: argument {path} looks like a literal secret (password); configure it "
            "as a secret and write ${secret:NAME} instead")


def _deny(engine, body, at_run_time: bool):
    args = {"method": "POST", "url": URL, "json": body}
    if at_run_time:
        return engine.check_step(StepCall(run_id="r-1", plan_id="p-1", step_id="send",
                                          tool="http.request", effect="write", args=args,
                                          tags=("egress",), requester=ALICE)).deny
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "send", "tool": "http.request", "args": args}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE,
                                            context=NOON)).deny


@pytest.mark.parametrize("at_run_time", [False, True], ids=["plan", "run time"])
def test_every_finding_under_a_secret_key_is_masked(engine, at_run_time):
    rows = [{_key(i): {"password": f"{PASSWORD}{i}"}} for i in range(25)]
    deny = _deny(engine, rows, at_run_time)
    assert all(_looks_random(f"$.args.json[{i}].<a secret>.password") in deny for i in range(25))
    assert len(deny) == 50  # and each key, by its position (past 50: test_secret_findings_listed)
    assert not any("AKIA" in line for line in deny), deny


@pytest.mark.parametrize("at_run_time", [False, True], ids=["plan", "run time"])
def test_a_secret_key_is_masked_where_its_text_came_first_as_a_value(engine, at_run_time):
    # The key repeats a value with no key, so the input lists the text once, as the value.
    deny = _deny(engine, [_key(1), {_key(1): {"password": PASSWORD}}], at_run_time)
    assert _looks_random("$.args.json[1].<a secret>.password") in deny
    assert not any("AKIA" in line for line in deny), deny


def test_a_name_holding_a_secret_is_masked_whole(engine):
    deny = _deny(engine, {f"x-{_key(2)}": {"password": PASSWORD}}, False)
    assert _looks_random("$.args.json.<a secret>.password") in deny

