"""The policy evals run end to end and the shipped policies meet them."""

from __future__ import annotations

import json

import pytest

from evals.policies import (
    PolicyCorpusError,
    load_corpus,
    policy_registry,
    run_case,
    run_corpus,
    to_markdown,
)
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


READ = [{"id": "load", "tool": "files.read", "args": {"path": "customers.csv"}}]


def test_an_unknown_expectation_is_an_error_naming_the_case_and_the_value():
    engine = EmbeddedEngine(PolicyBundle.load())
    cases = [{"name": "read", "expect": "allow", "steps": READ},
             {"name": "exfil_typo", "expect": "denied", "steps": READ},
             {"name": "no_runtime_call", "expect": "runtime", "steps": READ}]
    with pytest.raises(PolicyCorpusError) as error:
        run_corpus(engine, policy_registry(), cases)
    assert "exfil_typo" in error.value.message and "'denied'" in error.value.message
    assert "no_runtime_call" in error.value.message and "read:" not in error.value.message
    with pytest.raises(PolicyCorpusError, match="exfil_typo"):
        run_case(cases[1], engine, policy_registry())


def test_a_report_without_unsafe_or_without_benign_cases_says_n_a():
    engine = EmbeddedEngine(PolicyBundle.load())
    benign_only = run_corpus(engine, policy_registry(),
                             [{"name": "read", "expect": "allow", "steps": READ}])
    assert "- catch rate: 0/0 = n/a" in to_markdown(benign_only)
    unsafe_only = run_corpus(engine, policy_registry(),
                             [{"name": "drop", "expect": "review", "as": "admin", "steps": [
                                 {"id": "drop", "tool": "db.drop_table",
                                  "args": {"table": "customers"}}]}])
    assert "- false-positive rate: 0/0 = n/a" in to_markdown(unsafe_only)


def test_the_command_refuses_a_corpus_with_a_bad_case_with_exit_2(monkeypatch, capsys):
    import evals.policies.runner as runner

    monkeypatch.setattr(runner, "load_corpus", lambda: [{"name": "typo", "expect": "alow",
                                                         "steps": READ}])
    assert main([]) == 2
    assert "typo: expect 'alow'" in capsys.readouterr().err
