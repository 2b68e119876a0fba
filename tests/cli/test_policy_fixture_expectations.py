"""``baton policy test`` refuses fixtures that would pass without testing anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from policies.bundle import SHIPPED_FIXTURES
from tests.support.own_policies import own_policies_with_fixtures

GOOD = json.loads(
    (SHIPPED_FIXTURES / "read_only_plan_is_allowed_without_approval.json").read_text())


def _expecting(expected: dict) -> str:
    return json.dumps({"input": GOOD["input"], "expected": expected})


def _policy_test(tmp_path: Path, fixtures: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``baton policy test`` over the shipped rules with ``fixtures`` as the policies' own."""
    own_policies_with_fixtures(tmp_path, fixtures)  # under tmp_path / "mypolicies"
    return subprocess.run([sys.executable, "-m", "baton", "policy", "test"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200"})


def test_policy_test_refuses_fixtures_that_would_pass_without_testing_anything(tmp_path):
    done = _policy_test(tmp_path, {
        "good.json": json.dumps(GOOD),
        "typo.json": _expecting({"approvals": {"cuont": 5}}),
        "bool.json": _expecting({"approvals": {"count": True}}),
        "empty.json": _expecting({}),
        "no_approvals.json": _expecting({"approvals": {}}),
        "no_needles.json": _expecting({"allow": True, "deny_contains": []}),
    })
    assert done.returncode == 1 and "Traceback" not in done.stderr
    problems = " ".join(done.stderr.split())
    at = tmp_path / "mypolicies" / "fixtures"
    assert f"{at / 'typo.json'}: unknown expectation 'approvals.cuont' (known: count)" in problems
    assert f"{at / 'bool.json'}: expectation 'approvals.count' must be a whole number" in problems
    assert f"{at / 'empty.json'}: 'expected' is empty" in problems
    assert f"{at / 'no_approvals.json'}: expectation 'approvals' is empty" in problems
    assert f"{at / 'no_needles.json'}: expectation 'deny_contains' is an empty list" in problems
    assert "good.json" not in problems and "PASS" not in done.stdout


def test_a_fixture_expecting_an_approval_count_still_runs(tmp_path):
    done = _policy_test(tmp_path, {"count.json": _expecting({"approvals": {"count": 0}})})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS count" in done.stdout
