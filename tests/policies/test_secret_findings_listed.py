"""A decision lists at most 50 literal secrets and URL credentials one by one (by step order,
then by path), then says how many more there are, before the run and at run time, on both
backends: the embedded interpreter builds the deny set in time quadratic in its size, and one
POST of 4,990 AWS-key-like values took 28 s under its global lock (bench_policy's
many_secret_findings times it). Up to 50, the messages are those of every finding, as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from planner.plan import Plan
from policies.contracts import StepCall
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, NOON

URL = "https://api.internal.example/in"


def _key(i: int) -> str:
    return f"AKIA{i:016d}"


def _aws(step: str, path: str) -> str:
    return (f"step {step}: argument {path} contains an AWS access key; configure it as a secret "
            "and write ${secret:NAME} instead")


def _more(n: int) -> str:
    return f"and {n} more literal secrets in arguments (the first 50 are listed)"


def _post(body: Any) -> dict[str, Any]:
    return {"method": "POST", "url": URL, "json": body}


def _decide(engine, steps: dict[str, Any]) -> tuple[str, ...]:
    plan = Plan.model_validate({"goal": "post them", "steps": [
        {"id": step_id, "tool": "http.request", "args": args} for step_id, args in steps.items()]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE,
                                            context=NOON)).deny


def _check(engine, args: dict[str, Any]) -> tuple[str, ...]:
    return engine.check_step(StepCall(run_id="r-1", plan_id="p-1", step_id="send",
                                      tool="http.request", effect="write", args=args,
                                      tags=("egress",), requester=ALICE)).deny


def _deny(engine, args: dict[str, Any], at_run_time: bool) -> tuple[str, ...]:
    return _check(engine, args) if at_run_time else _decide(engine, {"send": args})


def _rows(n: int) -> list[dict[str, str]]:
    return [{"key_id": _key(i)} for i in range(n)]


def _paths(indexes) -> list[str]:
    return [f"$.args.json[{i}].key_id" for i in indexes]


@pytest.mark.parametrize("at_run_time", [False, True], ids=["plan", "run time"])
def test_fifty_findings_are_each_listed(engine, at_run_time):
    deny = _deny(engine, _post(_rows(50)), at_run_time)
    assert sorted(deny) == sorted(_aws("send", p) for p in _paths(range(50)))


@pytest.mark.parametrize("at_run_time", [False, True], ids=["plan", "run time"])
def test_past_fifty_the_first_fifty_by_path_are_listed_and_the_rest_counted(engine, at_run_time):
    deny = _deny(engine, _post(_rows(300)), at_run_time)
    first = sorted(_paths(range(300)))[:50]  # by path as text: json[0], json[1], json[10], ...
    assert sorted(deny) == sorted([*(_aws("send", p) for p in first), _more(250)])


def test_thousands_of_findings_at_run_time_are_counted(engine):
    deny = _check(engine, _post(_rows(1_000)))
    assert len(deny) == 51 and _more(950) in deny


def test_steps_are_listed_in_plan_order_not_by_id(engine):
    deny = _decide(engine, {"zz": _post(_rows(30)), "aa": _post(_rows(30))})
    assert sorted(deny) == sorted([*(_aws("zz", p) for p in _paths(range(30))),
                                   *(_aws("aa", p) for p in sorted(_paths(range(30)))[:20]),
                                   _more(10)])


@pytest.mark.parametrize("at_run_time", [False, True], ids=["plan", "run time"])
def test_url_credentials_count_toward_the_same_fifty(engine, at_run_time):
    urls = [f"{URL}?access_token=f8Kq2LmZx9Pw3RtY7vBn{i}" for i in range(20)]
    deny = _deny(engine, _post({"rows": _rows(40), "links": urls}), at_run_time)
    if at_run_time:  # only the call's own URL is read for credentials then: 40 findings
        assert len(deny) == 40 and not any(line.startswith("and ") for line in deny), deny
    else:
        assert len(deny) == 51 and _more(10) in deny, deny


@pytest.mark.parametrize("at_run_time", [False, True], ids=["plan", "run time"])
def test_a_secret_two_windows_of_a_long_string_hold_is_one_finding(engine, at_run_time):
    # 700 characters reach the rules as windows 0-512 and 256-700; the key at 300 is in both.
    long_text = f"{'x' * 299} {_key(99)} {'y' * 379}"
    deny = _deny(engine, _post({"rows": _rows(50), "note": long_text}), at_run_time)
    assert len(deny) == 51 and _more(1) in deny, deny


@pytest.mark.parametrize("at_run_time", [False, True], ids=["plan", "run time"])
def test_the_findings_listed_past_fifty_mask_secret_keys(engine, at_run_time):
    rows = [{_key(i): {"password": f"Zk3x9QpLm2Vb7RtYw{i}"}} for i in range(40)]  # 80 findings
    deny = _deny(engine, _post(rows), at_run_time)
    assert len(deny) == 51 and _more(30) in deny, deny
    assert sum(".<a secret>.password looks like" in line for line in deny) == 25
    assert not any("AKIA" in line for line in deny), deny
