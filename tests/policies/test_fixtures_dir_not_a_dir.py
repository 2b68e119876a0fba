"""A ``fixtures`` entry beside a policies_dir of one's own that is no directory is an error
naming it, and so is a fixtures directory holding no fixture.

A ``fixtures`` file (or a link to nothing) made ``baton policy test`` run Baton's own fixtures
instead, and pass; an empty ``fixtures/`` ended with "0 passed, 0 failed" alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from policies.bundle import SHIPPED_DIR
from policies.fixtures_runner import PolicyFixtureError, fixture_suite, run_fixtures


@pytest.fixture
def policies(tmp_path):
    shutil.copytree(SHIPPED_DIR, tmp_path / "pol")
    return tmp_path / "pol"


@pytest.mark.parametrize("entry", ["file", "broken link"])
def test_a_fixtures_entry_that_is_no_directory_is_an_error_naming_it(policies, entry):
    fixtures = policies / "fixtures"
    if entry == "file":
        fixtures.write_text('{"input": {}, "expected": {"allow": true}}')
    else:
        os.symlink(policies / "gone", fixtures)
    suite = fixture_suite(policies_dir=policies, policy_data=None)
    assert suite.directory == fixtures
    with pytest.raises(PolicyFixtureError) as refused:
        run_fixtures(suite.engine, suite.directory)
    assert refused.value.problems == [f"fixtures directory {fixtures} is not a directory"]


def test_a_fixtures_directory_holding_no_fixture_says_so(policies):
    (policies / "fixtures").mkdir()
    (policies / "fixtures" / "notes.txt").write_text("not a fixture")
    suite = fixture_suite(policies_dir=policies, policy_data=None)
    with pytest.raises(PolicyFixtureError) as refused:
        run_fixtures(suite.engine, suite.directory)
    assert refused.value.problems == [
        f"fixtures directory {policies / 'fixtures'} holds no fixture (no *.json file)"]


def test_baton_policy_test_with_a_fixtures_file_exits_1_naming_it(policies, tmp_path):
    (policies / "fixtures").write_text("{}")
    (tmp_path / "baton.toml").write_text(
        f'data_dir = ".baton"\npolicies_dir = "{policies}"\n[users.alice]\nroles = ["analyst"]\n')
    done = subprocess.run([sys.executable, "-m", "baton", "--as", "alice", "policy", "test"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "passed" not in done.stdout, done.stdout
    assert f"fixtures directory {policies / 'fixtures'} is not a directory" in done.stderr, \
        done.stderr
