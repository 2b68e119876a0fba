"""A policy engine that cannot judge stops the policy evals: its denies are not catches."""

from __future__ import annotations

import pytest

from evals.policies import PolicyEngineFailure, policy_registry, run_corpus
from evals.policies.__main__ import main
from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.engine import failed_decision, failed_step_decision

READ = [{"id": "read", "tool": "files.read", "args": {"path": "notes.txt"}}]


class _BrokenEngine:
    """An engine whose every answer is the fail-closed deny of an engine error."""

    name = "broken"
    bundle_hash = "0" * 64

    def decide(self, _policy_input):
        return failed_decision("server unreachable", engine=self.name, bundle_hash=self.bundle_hash)

    def check_step(self, _call):
        return failed_step_decision("server unreachable", engine=self.name,
                                    bundle_hash=self.bundle_hash)


class _RuntimeBrokenEngine(_BrokenEngine):
    """Judges plans, fails on run-time checks."""

    def __init__(self):
        self._real = EmbeddedEngine(PolicyBundle.load())

    def decide(self, policy_input):
        return self._real.decide(policy_input)


def test_an_engine_error_is_raised_naming_the_first_case_not_scored():
    cases = [{"name": "first_case", "expect": "deny", "steps": READ},
             {"name": "second_case", "expect": "allow", "steps": READ}]
    with pytest.raises(PolicyEngineFailure) as caught:
        run_corpus(_BrokenEngine(), policy_registry(), cases)
    assert caught.value.message == ("the policy engine could not judge: first_case: "
                                    "policy engine error: server unreachable")


def test_an_engine_error_at_run_time_is_raised_too():
    cases = [{"name": "smuggled", "expect": "runtime", "steps": READ,
              "runtime": {"step": "read", "args": {"path": "notes.txt"}, "allow": False}}]
    with pytest.raises(PolicyEngineFailure) as caught:
        run_corpus(_RuntimeBrokenEngine(), policy_registry(), cases)
    assert caught.value.message.startswith("the policy engine could not judge: smuggled: "
                                           "policy engine error: server unreachable")


def test_an_unreachable_opa_server_is_exit_2_with_no_report(tmp_path, capsys):
    assert main(["--opa-url", "http://127.0.0.1:9", "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "catch rate" not in captured.out  # nothing scored; where logs go: test_logs_on_stderr
    assert not (tmp_path / "report.json").exists()
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("python -m evals.policies: the policy engine could not judge: ")
    assert "http://127.0.0.1:9" in last
