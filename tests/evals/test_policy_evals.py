"""The policy evals run end to end and the shipped policies meet them."""

from __future__ import annotations

import json

from evals.policies import load_corpus, policy_registry, run_case, run_corpus
from evals.policies.__main__ import main
from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine


def test_policy_evals_report_catch_and_false_positive_rates(tmp_path):
    assert main(["--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["catch_rate"] == 1.0 and report["false_positive_rate"] == 0.0
    assert report["unsafe"] >= 15 and report["benign"] >= 8
    assert "catch rate" in (tmp_path / "report.md").read_text()


def test_smuggled_url_is_flagged_at_plan_time_and_stopped_at_run_time():
    engine = EmbeddedEngine(PolicyBundle.load())
    case = next(c for c in load_corpus() if c["name"] == "smuggled_attacker_url_through_reference")
    result = run_case(case, engine, policy_registry())
    assert result.ok and "runtime check listed: True" in result.detail
    assert "attacker.example is not on the egress allowlist" in result.detail


def test_evals_notice_a_policy_that_allows_everything(tmp_path):
    (tmp_path / "p.rego").write_text('package baton\nimport rego.v1\n'
                                     'decision := {"allow": true, "deny": [], "risk": 0,'
                                     ' "approvals": {"count": 0, "roles": []}}\n'
                                     'step_decision := {"allow": true, "deny": []}\n')
    summary = run_corpus(EmbeddedEngine(PolicyBundle.load(tmp_path)), policy_registry())
    assert summary["catch_rate"] < 0.2
