"""A fixtures directory that cannot be read is an error naming it, never a suite of no fixtures.

``Path.glob`` answered a ``fixtures/`` directory without read permission (beside a
``policies_dir`` of one's own) with no files: ``baton policy test`` ran nothing and said
"0 passed, 0 failed", hiding why.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from baton.usecases.demo_workspace import prepare_workspace
from policies.bundle import SHIPPED_DIR, SHIPPED_FIXTURES
from policies.fixtures_runner import PolicyFixtureError, load_fixtures
from tests.support.unreadable_dirs import mode, refuse_listing, refuse_stat, run_where_modes_bind

FIXTURE = "api_token_in_header_is_denied.json"


@pytest.fixture
def fixtures(tmp_path):
    """``policies/fixtures`` beside a copy of the shipped policies, holding one fixture."""
    policies = tmp_path / "policies"
    shutil.copytree(SHIPPED_DIR, policies)
    (policies / "fixtures").mkdir()
    shutil.copy(SHIPPED_FIXTURES / FIXTURE, policies / "fixtures" / FIXTURE)
    assert [f.name for f in load_fixtures(policies / "fixtures")] == [FIXTURE[:-5]]
    return policies / "fixtures"


def test_a_fixtures_directory_that_cannot_be_listed_is_an_error_naming_it(fixtures, monkeypatch):
    refuse_listing(monkeypatch, fixtures)
    with pytest.raises(PolicyFixtureError) as refused:
        load_fixtures(fixtures)
    assert refused.value.problems == [f"fixtures directory {fixtures} cannot be read: "
                                      "Permission denied"]


def test_a_fixtures_directory_that_cannot_be_looked_at_is_an_error_naming_it(fixtures,
                                                                           monkeypatch):
    refuse_stat(monkeypatch, fixtures)
    with pytest.raises(PolicyFixtureError, match="cannot be read: Permission denied"):
        load_fixtures(fixtures)


def test_a_fixtures_directory_that_is_not_there_holds_no_fixtures(tmp_path):
    (tmp_path / "file").write_text("x")
    assert load_fixtures(tmp_path / "none") == []
    with pytest.raises(PolicyFixtureError, match="is not a directory"):
        load_fixtures(tmp_path / "file")


def test_baton_policy_test_with_a_chmod_000_fixtures_directory_says_it_cannot_be_read(
        tmp_path, fixtures):
    workspace = prepare_workspace(tmp_path / "demo").root
    with mode(fixtures, 0o000):
        done = run_where_modes_bind(sys.executable, "-m", "baton", "--as", "alice", "policy",
                                    "test", cwd=workspace,
                                    env={"BATON_POLICIES_DIR": str(fixtures.parent)})
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "passed" not in done.stdout, done.stdout
    assert f"fixtures directory {fixtures} cannot be read: Permission denied" in done.stderr, \
        done.stderr
