"""Without a settings file, a refused user is told that none was found, and where Baton looked."""

from __future__ import annotations

from tests.support.cli_in_process import in_process_baton


def test_an_unknown_user_without_a_settings_file_says_none_was_found_and_where(
        data_dir, capsys):
    with in_process_baton(capsys) as baton:
        done = baton("--as", "alice", "runs", "list")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: unknown user 'alice'")
    assert f"no baton.toml in {data_dir.resolve()}" in line and "BATON_CONFIG" in line
    assert "known users" not in line


def test_an_unknown_user_with_a_settings_file_still_lists_the_known_ones(cli):
    done = cli("--as", "mallory", "runs", "list")
    assert done.returncode == 2
    assert "known users: alice, bob, dave, erin, root" in done.stderr
