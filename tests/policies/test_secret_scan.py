"""The literal-secret rule sees every string a step carries, keys included, or it denies.

Plans go through ``build_policy_input`` (and calls through ``build_step_input``) with
the real tool registry, judged by the shipped policies on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester, StepCall
from policies.inputs import (
    MAX_STRINGS_PER_PLAN,
    MAX_STRINGS_PER_STEP,
    MAX_STRINGS_SEEN_PER_STEP,
    build_policy_input,
    iter_strings,
)
from tests.support.policy_tools import policy_registry

ALICE = Requester(id="alice", roles=("analyst",))
NOON = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
URL = "https://api.internal.example/upload"


def _decide(engine, body):
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": "send", "tool": "http.request", "args": {"method": "POST", "url": URL, "json": body}}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


def _check(engine, body):
    return engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="send", tool="http.request", effect="write",
        args={"method": "POST", "url": URL, "json": body}, tags=("egress",), requester=ALICE))


def _many_strings_then(secret: str) -> list[str]:
    return [f"row {i}" for i in range(MAX_STRINGS_PER_STEP)] + [secret]


def test_secret_written_as_a_dict_key_is_denied_without_quoting_it(engine):
    decision = _decide(engine, {"credentials": {AWS_KEY: "yes"}})
    assert not decision.allow
    assert any("step send:" in d and "an AWS access key" in d for d in decision.deny), decision.deny
    assert not any(AWS_KEY in d for d in decision.deny + decision.notes)


def test_secret_written_as_a_dict_key_is_denied_at_run_time(engine):
    verdict = _check(engine, {AWS_KEY: 1})
    assert not verdict.allow
    assert any("an AWS access key" in d for d in verdict.deny), verdict.deny


# Secrets nested under a secret key: every finding's path passes through the key.
UNDER_A_SECRET_KEY = {AWS_KEY: {"nested": "AKIAI44QH8DHBEXAMPLE", "password": "Zx9!qPw7Lm2#Rt5vBn8"}}
NOT_A_NAME_KEY = "my password is hunter2"


def test_secrets_under_a_secret_key_are_denied_without_quoting_the_key(engine):
    decision = _decide(engine, UNDER_A_SECRET_KEY)
    assert any("looks like a literal secret (password)" in d for d in decision.deny), decision.deny
    assert not any(AWS_KEY in d for d in decision.deny + decision.notes), decision.deny


def test_secrets_under_a_secret_key_are_denied_at_run_time_without_quoting_the_key(engine):
    verdict = _check(engine, UNDER_A_SECRET_KEY)
    assert any("looks like a literal secret (password)" in d for d in verdict.deny), verdict.deny
    assert not any(AWS_KEY in d for d in verdict.deny), verdict.deny


def test_a_key_that_is_not_a_name_is_not_quoted_by_the_sensitive_value_rule(engine):
    decision = _decide(engine, {NOT_A_NAME_KEY: "Zx9!qPw7Lm2#Rt5vBn8"})
    assert any("looks like a literal secret (password)" in d for d in decision.deny), decision.deny
    assert not any("hunter2" in d for d in decision.deny), decision.deny


def test_step_with_more_strings_than_can_be_scanned_is_denied_naming_the_step(engine):
    decision = _decide(engine, _many_strings_then(AWS_KEY))
    assert not decision.allow
    assert any(d.startswith("step send: too many strings to scan for secrets")
               for d in decision.deny), decision.deny


def test_call_with_more_strings_than_can_be_scanned_is_denied_at_run_time(engine):
    verdict = _check(engine, _many_strings_then("harmless"))
    assert not verdict.allow
    assert any(d.startswith("step send: too many strings to scan for secrets")
               for d in verdict.deny), verdict.deny


def _decide_steps(engine, bodies):
    plan = Plan.model_validate({"goal": "post it", "steps": [
        {"id": f"send{j}", "tool": "http.request", "args": {"method": "POST", "url": URL, "json": body}}
        for j, body in enumerate(bodies)]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


def test_plan_whose_steps_together_hold_more_strings_than_can_be_scanned_is_denied(engine):
    # Each step is within its own cap; together they pass the plan's, which the third spends.
    per_step = MAX_STRINGS_PER_STEP - 100
    assert 2 * per_step < MAX_STRINGS_PER_PLAN < 3 * per_step
    bodies = [[f"r{j}-{i}" for i in range(per_step)] for j in range(4)]
    decision = _decide_steps(engine, bodies)
    assert not decision.allow
    reason = (f"too many strings to scan for secrets (the plan's steps up to this one hold more "
              f"than {MAX_STRINGS_PER_PLAN} distinct strings)")
    assert any(d.startswith(f"step send2: {reason}") for d in decision.deny), decision.deny
    assert any(d.startswith(f"step send3: {reason}") for d in decision.deny), decision.deny
    assert not any(d.startswith(("step send0:", "step send1:")) for d in decision.deny), decision.deny
    assert not any("r2-" in d or "r3-" in d for d in decision.deny), decision.deny


def test_step_over_its_own_cap_is_denied_saying_so(engine):
    decision = _decide(engine, _many_strings_then("harmless"))
    assert any(f"(more than {MAX_STRINGS_PER_STEP} distinct strings in its arguments)" in d
               for d in decision.deny), decision.deny


def test_step_repeating_one_string_past_the_iteration_cap_is_denied(engine):
    body = ["same value"] * (MAX_STRINGS_SEEN_PER_STEP + 10_000)
    for deny in (_decide(engine, body).deny, _check(engine, body).deny):
        assert any(d.startswith("step send: too many strings to scan for secrets (more than "
                                f"{MAX_STRINGS_SEEN_PER_STEP} strings in its arguments)")
                   for d in deny), deny
        assert not any("same value" in d for d in deny), deny


def test_step_with_exactly_as_many_strings_as_can_be_scanned_is_judged_normally(engine):
    # The argument names and the method and URL count too: the body fills the rest.
    fixed = len(list(iter_strings({"method": "POST", "url": URL, "json": []})))
    body = [f"row {i}" for i in range(MAX_STRINGS_PER_STEP - fixed)]
    assert _check(engine, body).allow


def _table(rows: int) -> list[dict[str, str]]:
    return [{"region": ("north", "south")[i % 2], "customer": f"customer {i}", "total": str(i * 7)}
            for i in range(rows)]


def test_a_table_of_a_thousand_rows_is_scanned_whole_and_judged(engine):
    # 6,000 strings, but the keys repeat on every row and count once.
    assert len(list(iter_strings({"rows": _table(1_000)}))) > MAX_STRINGS_PER_STEP
    assert _check(engine, {"rows": _table(1_000)}).allow


def test_a_secret_in_the_last_row_of_a_large_table_is_found(engine):
    rows = _table(1_000)
    rows[-1]["note"] = AWS_KEY
    verdict = _check(engine, {"rows": rows})
    assert not verdict.allow
    assert any("argument $.args.json.rows[999].note contains an AWS access key" in d
               for d in verdict.deny), verdict.deny


def test_a_repeated_secret_is_reported_at_its_first_place(engine):
    verdict = _check(engine, [{"token": "x"}, {"k": AWS_KEY}, {"k": AWS_KEY}])
    assert [d for d in verdict.deny if "AWS access key" in d] == [
        "step send: argument $.args.json[1].k contains an AWS access key; configure it as a "
        "secret and write ${secret:NAME} instead"]
