"""Which data fixtures run with: Baton's with the data they were written for, a user's with theirs."""

from __future__ import annotations

import json
import shutil

from policies.bundle import SHIPPED_DIR, SHIPPED_FIXTURES, PolicyBundle
from policies.fixtures_runner import fixture_suite, run_fixtures

NARROW = {"egress_allowlist": ["only.example"]}


def test_shipped_fixtures_run_with_the_shipped_data_whatever_the_settings_override():
    suite = fixture_suite(policies_dir=None, policy_data=NARROW)
    assert suite.directory == SHIPPED_FIXTURES and not suite.configured_data
    assert suite.engine.bundle_hash == PolicyBundle.load().bundle_hash
    assert all(r.passed for r in run_fixtures(suite.engine, suite.directory))


def test_without_overrides_the_shipped_fixtures_run_on_the_configured_bundle():
    suite = fixture_suite(policies_dir=None, policy_data={})
    assert suite.directory == SHIPPED_FIXTURES and suite.configured_data


def test_a_policies_dirs_own_fixtures_run_with_the_configured_data(tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(SHIPPED_DIR, policies)
    (policies / "fixtures").mkdir()
    fixture = json.loads((SHIPPED_FIXTURES / "egress_get_is_a_read_with_no_approval.json").read_text())
    fixture["input"]["steps"][0]["url"]["host"] = "only.example"  # allowed by NARROW alone
    (policies / "fixtures" / "only_example_is_allowed.json").write_text(json.dumps(fixture))

    suite = fixture_suite(policies_dir=policies, policy_data=NARROW)
    assert suite.directory == policies / "fixtures" and suite.configured_data
    assert suite.engine.bundle_hash == PolicyBundle.load(policies, overrides=NARROW).bundle_hash
    assert [r.passed for r in run_fixtures(suite.engine, suite.directory)] == [True]
    unconfigured = fixture_suite(policies_dir=policies, policy_data={})
    assert [r.passed for r in run_fixtures(unconfigured.engine, unconfigured.directory)] == [False]
