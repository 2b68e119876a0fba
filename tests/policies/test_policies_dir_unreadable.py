"""A policies directory that cannot be read is said to be unreadable, never empty.

``Path.glob`` answered a directory without read permission with no files: the bundle (and
so the settings check) said it "holds no .rego files", and one that could be listed but
not searched ended in a PermissionError traceback from ``Path.is_file``.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from baton.usecases.demo_workspace import prepare_workspace
from policies.bundle import SHIPPED_DIR, PolicyBundle, PolicyBundleError, rego_files
from tests.support.unreadable_dirs import (
    mode,
    python_where_modes_bind,
    refuse_listing,
    refuse_stat,
    run_where_modes_bind,
)


@pytest.fixture
def own_policies(tmp_path):
    """A copy of the shipped policies, which load as they are."""
    directory = tmp_path / "policies"
    shutil.copytree(SHIPPED_DIR, directory)
    assert PolicyBundle.load(directory).modules
    return directory


def test_a_policies_dir_that_cannot_be_listed_is_said_to_be_unreadable(own_policies,
                                                                    monkeypatch):
    refuse_listing(monkeypatch, own_policies)
    with pytest.raises(PolicyBundleError) as refused:
        PolicyBundle.load(own_policies)
    assert refused.value.message == (f"policies directory {str(own_policies)!r} cannot be "
                                      "read: Permission denied")


def test_a_policies_dir_under_a_parent_that_cannot_be_searched_is_unreadable(own_policies,
                                                                          monkeypatch):
    refuse_stat(monkeypatch, own_policies)
    with pytest.raises(PolicyBundleError, match="cannot be read: Permission denied"):
        PolicyBundle.load(own_policies)


def test_what_is_not_a_readable_directory_has_its_own_message(tmp_path):
    (tmp_path / "file").write_text("x")
    for path, said in ((tmp_path / "none", "does not exist"),
                       (tmp_path / "file" / "x", "does not exist"),
                       (tmp_path / "file", "is not a directory")):
        with pytest.raises(PolicyBundleError, match=said):
            rego_files(path)
    assert rego_files(tmp_path) == []
    with pytest.raises(PolicyBundleError, match="holds no .rego files"):
        PolicyBundle.load(tmp_path)


_LOAD = """
import sys
from pathlib import Path
from policies.bundle import PolicyBundle, PolicyBundleError
for directory in map(Path, sys.argv[1:]):
    try:
        print(directory.name, len(PolicyBundle.load(directory).modules))
    except PolicyBundleError as exc:
        print(directory.name, "refused:", exc.message)
"""


def test_what_the_bundle_makes_of_each_mode_of_the_dir(tmp_path):
    """No read permission: unreadable. Read but no search: its first file cannot be read."""
    for name in ("none", "search-only", "read-only"):
        shutil.copytree(SHIPPED_DIR, tmp_path / name)
    with (mode(tmp_path / "none", 0o000), mode(tmp_path / "search-only", 0o111),
          mode(tmp_path / "read-only", 0o444)):
        done = python_where_modes_bind(_LOAD, args=[str(p) for p in sorted(tmp_path.iterdir())])
    assert done.returncode == 0, done.stderr
    first = min(path.name for path in SHIPPED_DIR.glob("*.rego"))
    assert done.stdout.splitlines() == [
        f"none refused: policies directory {str(tmp_path / 'none')!r} cannot be read: "
        "Permission denied",
        f"read-only refused: cannot read policy file {tmp_path / 'read-only' / first}: "
        "Permission denied",
        f"search-only refused: policies directory {str(tmp_path / 'search-only')!r} cannot be "
        "read: Permission denied"]


def test_baton_with_a_chmod_000_policies_dir_says_it_cannot_be_read(tmp_path):
    workspace = prepare_workspace(tmp_path / "demo").root
    policies = tmp_path / "policies"
    shutil.copytree(SHIPPED_DIR, policies)
    with mode(policies, 0o000):
        done = run_where_modes_bind(sys.executable, "-m", "baton", "--as", "alice", "plan",
                                    "Copy sales.csv to backup/sales.csv", cwd=workspace,
                                    env={"BATON_POLICIES_DIR": str(policies)})
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "policies_dir" in done.stderr and "cannot be read: Permission denied" in done.stderr, \
        done.stderr
