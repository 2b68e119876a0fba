"""Anything but a well-formed decision is a deny that names the cause."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from policies.bundle import PolicyBundle, PolicyBundleError
from policies.contracts import Outcome, Requester, StepCall
from policies.embedded import EmbeddedEngine
from policies.engine import EngineFailure, FailClosedEngine, parse_decision
from policies.fixtures_runner import load_fixtures
from policies.bundle import SHIPPED_FIXTURES
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa

SAFE_INPUT = next(f.input for f in load_fixtures(SHIPPED_FIXTURES)
                  if f.name == "read_only_plan_is_allowed_without_approval")


def _bundle(tmp_path: Path, source: str) -> PolicyBundle:
    (tmp_path / "policy.rego").write_text(source)
    return PolicyBundle.load(tmp_path)


def _denied_with(decision, text: str) -> None:
    assert decision.allow is False
    assert decision.outcome is Outcome.DENIED
    assert any(text in reason for reason in decision.deny), decision.deny
    assert all(reason.startswith("policy engine error") for reason in decision.deny)


def test_safe_plan_is_allowed_by_shipped_policies(bundle):
    assert EmbeddedEngine(bundle).decide(SAFE_INPUT).allow is True


def test_policy_that_does_not_compile_denies(tmp_path):
    bundle = _bundle(tmp_path, "package baton\ndecision := {{{\n")
    _denied_with(EmbeddedEngine(bundle).decide(SAFE_INPUT), "do not compile")


def test_undefined_decision_denies(tmp_path):
    bundle = _bundle(tmp_path, "package baton\nimport rego.v1\nsomething_else := true\n")
    _denied_with(EmbeddedEngine(bundle).decide(SAFE_INPUT), "undefined")


NO_APPROVALS = '"approvals": {"count": 0, "roles": []}'


@pytest.mark.parametrize("body, cause", [
    ('decision := "yes"', "must be an object"),
    ('decision := {"allow": "true"}', "'allow' must be true or false"),
    ('decision := {"allow": true, "deny": "none"}', "'deny' must be a list of strings"),
    (f'decision := {{"allow": true, "deny": [], {NO_APPROVALS}, "risk": "high"}}',
     "'risk' must be a number"),
    ('decision := {"allow": true, "deny": [], "risk": 0, "approvals": {"count": -1, "roles": []}}',
     "'approvals' is malformed"),
])
def test_decision_of_the_wrong_shape_denies(tmp_path, body, cause):
    bundle = _bundle(tmp_path, f"package baton\nimport rego.v1\n{body}\n")
    _denied_with(EmbeddedEngine(bundle).decide(SAFE_INPUT), cause)


@pytest.mark.parametrize("body, cause", [
    ('decision := {"allow": true, "deny": [], "risk": 0}', "policy result lacks approvals"),
    (f'decision := {{"allow": true, "deny": [], {NO_APPROVALS}}}', "policy result lacks risk"),
    (f'decision := {{"allow": true, {NO_APPROVALS}, "risk": 0}}', "policy result lacks deny"),
    ('decision := {"allow": true, "deny": [], "risk": 0, "approvals": {"roles": ["approver"]}}',
     "policy result lacks approvals.count"),
    ('decision := {"allow": true, "deny": [], "risk": 0, "approvals": {"count": 1}}',
     "policy result lacks approvals.roles"),
    ('decision := {"allow": true, "deny": [], "risk": 0, "approvals": {"count": 1.5, "roles": []}}',
     "'approvals' is malformed"),
])
def test_decision_missing_a_field_that_decides_denies_on_both_backends(tmp_path, body, cause):
    bundle = _bundle(tmp_path, f"package baton\nimport rego.v1\n{body}\n")
    _denied_with(EmbeddedEngine(bundle).decide(SAFE_INPUT), cause)
    with FakeOpa() as server:
        _denied_with(OpaEngine(bundle, server.url, timeout_s=5.0).decide(SAFE_INPUT), cause)


@pytest.mark.parametrize("risk", ["1e400", "-1e400"])
def test_infinite_risk_denies_instead_of_raising_on_both_backends(tmp_path, risk):
    bundle = _bundle(tmp_path, "package baton\nimport rego.v1\n"
                               f'decision := {{"allow": true, "deny": [], {NO_APPROVALS}, "risk": {risk}}}\n')
    _denied_with(EmbeddedEngine(bundle).decide(SAFE_INPUT), "'risk' must be a finite number")
    with FakeOpa() as server:
        _denied_with(OpaEngine(bundle, server.url, timeout_s=5.0).decide(SAFE_INPUT),
                     "'risk' must be a finite number")


@pytest.mark.parametrize("risk", [math.nan, math.inf])
def test_parse_decision_refuses_a_risk_that_is_not_finite(risk):
    raw = {"allow": True, "deny": [], "approvals": {"count": 0, "roles": []}, "risk": risk}
    with pytest.raises(EngineFailure, match="'risk' must be a finite number"):
        parse_decision(raw, engine="embedded", bundle_hash="h")


class _BrokenBackend(FailClosedEngine):
    """A backend with a bug: evaluation raises something no one planned for."""

    name = "broken"
    bundle_hash = "h"

    def _evaluate(self, rule, policy_input):
        raise ZeroDivisionError("division by zero")


def test_unexpected_error_in_a_backend_denies_the_plan_and_the_call():
    decision = _BrokenBackend().decide(SAFE_INPUT)
    _denied_with(decision, "ZeroDivisionError")
    call = StepCall(run_id="r", plan_id="p", step_id="s", tool="files.read", effect="read",
                    args={"path": "a"}, requester=Requester(id="alice", roles=("analyst",)))
    verdict = _BrokenBackend().check_step(call)
    assert verdict.allow is False and "ZeroDivisionError" in verdict.deny[0]


def test_runtime_error_in_a_builtin_denies(tmp_path):
    bundle = _bundle(tmp_path, 'package baton\nimport rego.v1\n'
                               'decision := {"allow": to_number("not a number") > 0}\n')
    _denied_with(EmbeddedEngine(bundle).decide(SAFE_INPUT), "evaluation failed")


def test_allow_true_with_deny_reasons_is_still_denied(tmp_path):
    bundle = _bundle(tmp_path, 'package baton\nimport rego.v1\n'
                               f'decision := {{"allow": true, "deny": ["no"], {NO_APPROVALS}, "risk": 0}}\n')
    assert EmbeddedEngine(bundle).decide(SAFE_INPUT).allow is False


def test_step_decision_undefined_denies_the_call(tmp_path):
    bundle = _bundle(tmp_path, 'package baton\nimport rego.v1\ndecision := {"allow": true}\n')
    call = StepCall(run_id="r", plan_id="p", step_id="s", tool="files.read", effect="read",
                    args={"path": "a"}, requester=Requester(id="alice", roles=("analyst",)))
    verdict = EmbeddedEngine(bundle).check_step(call)
    assert verdict.allow is False and "undefined" in verdict.deny[0]


def test_step_decision_without_deny_denies_the_call_on_both_backends(tmp_path):
    bundle = _bundle(tmp_path, 'package baton\nimport rego.v1\nstep_decision := {"allow": true}\n')
    call = StepCall(run_id="r", plan_id="p", step_id="s", tool="files.read", effect="read",
                    args={"path": "a"}, requester=Requester(id="alice", roles=("analyst",)))
    with FakeOpa() as server:
        for engine in (EmbeddedEngine(bundle), OpaEngine(bundle, server.url, timeout_s=5.0)):
            verdict = engine.check_step(call)
            assert verdict.allow is False, engine.name
            assert verdict.deny == ("policy engine error: policy result lacks deny",), verdict.deny


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_a_resolved_argument_nested_too_deep_denies_the_call_instead_of_raising(engine):
    call = StepCall(run_id="r", plan_id="p", step_id="s", tool="files.write", effect="write",
                    args={"path": "a", "text": _nested(5000)},
                    requester=Requester(id="alice", roles=("analyst",)))
    verdict = engine.check_step(call)
    assert verdict.allow is False and "RecursionError" in verdict.deny[0], verdict.deny


def test_missing_policies_directory_is_a_clear_error(tmp_path):
    with pytest.raises(PolicyBundleError, match="does not exist"):
        PolicyBundle.load(tmp_path / "nope")


def test_dead_opa_server_denies(bundle):
    server = FakeOpa()
    url = server.url
    server.close()
    _denied_with(OpaEngine(bundle, url, timeout_s=1.0).decide(SAFE_INPUT), "cannot be reached")



def test_a_password_in_the_opa_url_stays_out_of_the_deny_reason(bundle):
    server = FakeOpa()
    url = server.url.replace("http://", "http://svc:opa-pa55word@")
    server.close()
    decision = OpaEngine(bundle, url, timeout_s=1.0).decide(SAFE_INPUT)
    _denied_with(decision, "cannot be reached")
    assert "opa-pa55word" not in repr(decision)
    assert "svc:***@" in repr(decision)

def test_slow_opa_server_past_timeout_denies(bundle):
    with FakeOpa(delay_s=1.0) as server:
        decision = OpaEngine(bundle, server.url, timeout_s=0.2).decide(SAFE_INPUT)
    _denied_with(decision, "did not answer in time")


def test_opa_answer_without_result_denies(bundle):
    with FakeOpa(drop_result=True) as server:
        decision = OpaEngine(bundle, server.url, timeout_s=5.0).decide(SAFE_INPUT)
    _denied_with(decision, "undefined")


def test_opa_server_that_lost_its_policies_gets_them_again_and_answers(bundle):
    with FakeOpa() as server:
        engine = OpaEngine(bundle, server.url, timeout_s=5.0)
        assert engine.decide(SAFE_INPUT).allow is True
        server.restart()
        assert engine.decide(SAFE_INPUT).allow is True
        assert engine.check_step(StepCall(
            run_id="r-1", plan_id="p-1", step_id="s", tool="files.read", effect="read",
            args={"path": "a.csv"},
            requester=Requester(id="alice", roles=("analyst",)))).engine == "opa"
        assert server.get_data(["baton_bundles", engine.namespace, "bundle_hash"]) == bundle.bundle_hash


def test_opa_result_still_missing_after_one_re_push_denies(bundle):
    with FakeOpa(drop_result=True) as server:
        decision = OpaEngine(bundle, server.url, timeout_s=5.0).decide(SAFE_INPUT)
        policy_pushes = [r for r in server.requests if r[0] == "PUT" and "/v1/policies/" in r[1]]
        queries = [r for r in server.requests if r[0] == "POST"]
    _denied_with(decision, "undefined")
    assert len(policy_pushes) == 2 * (len(bundle.modules) + 1)  # the modules and the guard
    assert len(queries) == 2


def test_opa_backend_pushes_bundle_once_and_reuses_it(bundle):
    with FakeOpa() as server:
        OpaEngine(bundle, server.url, timeout_s=5.0).decide(SAFE_INPUT)
        pushes = [r for r in server.requests if r[0] == "PUT"]
        second = OpaEngine(bundle, server.url, timeout_s=5.0)
        assert second.decide(SAFE_INPUT).allow is True
        assert [r for r in server.requests if r[0] == "PUT" and "/v1/policies/" in r[1]] == [
            r for r in pushes if "/v1/policies/" in r[1]]
        assert server.get_data(["baton_bundles", second.namespace, "bundle_hash"]) == bundle.bundle_hash


def test_decisions_carry_engine_and_bundle_hash(engine, bundle):
    decision = engine.decide(SAFE_INPUT)
    assert decision.bundle_hash == bundle.bundle_hash
    assert decision.engine in ("embedded", "opa")


def test_bundle_hash_changes_with_the_data(bundle):
    changed = PolicyBundle.load(overrides={"egress_allowlist": ["only.example"]})
    assert changed.bundle_hash != bundle.bundle_hash
    assert changed.data["egress_allowlist"] == ["only.example"]
