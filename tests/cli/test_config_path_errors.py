"""Path settings the system cannot be asked about: one line naming the setting, exit 2.

A NUL in a path, a symbolic link loop, a parent directory that cannot be searched and a
data_dir whose path is not UTF-8 (its SQLite database is named by a URL) each ended in a
traceback from the first command that used the path: ``Path.exists`` answers False for the
first two (and raises for the third on Python 3.11), and ``resolve`` or the URL then failed.
The settings file itself is looked at the same way, and a database port out of range is a
URL that does not parse (it was a failed connection, exit 1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from baton.settings import Settings, load_settings
from baton.settings_checks import check_settings, database_url_problem
from baton.settings_reload import LiveSettings, SettingsFileError
from policies.bundle import SHIPPED_DIR
from tests.support.cli_in_process import in_process_baton
from tests.support.unreadable_dirs import mode, refuse_stat, run_where_modes_bind

USERS = '[users.alice]\nroles = ["analyst"]\n'
GOAL = "Copy sales.csv to backup/sales.csv"
# Settings naming a directory, and a command that used each one before it was checked.
PATH_SETTINGS = {"data_dir": ("plans", "list"), "workspace": ("tools", "list"),
                 "templates_dir": ("--as", "alice", "plan", GOAL),
                 "policies_dir": ("plans", "list")}
NOT_UTF8 = os.fsdecode(b"d\xff")  # how Python names a directory whose name is not UTF-8

Baton = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def baton(data_dir: Path, capsys) -> Iterator[Baton]:
    """``baton(*args, **env)`` run in-process in the test's directory."""
    (data_dir / "baton.toml").write_text(USERS)
    with in_process_baton(capsys) as run:
        yield lambda *args, **env: run(*args, env={"COLUMNS": "200", **env})


def assert_config_error(done: subprocess.CompletedProcess[str], *names: str) -> None:
    """Exit 2 with one ``error:`` line that names every one of ``names``."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.mark.parametrize("setting", PATH_SETTINGS)
def test_a_nul_in_a_path_setting_is_a_configuration_error(baton, data_dir, setting):
    (data_dir / "baton.toml").write_text(f'{setting} = "a\\u0000b"\n{USERS}')
    assert_config_error(baton(*PATH_SETTINGS[setting]), setting, "baton.toml", "NUL")


@pytest.mark.parametrize("setting", PATH_SETTINGS)
def test_a_symbolic_link_loop_as_a_path_setting_is_a_configuration_error(baton, data_dir,
                                                                          setting):
    (data_dir / "loop").symlink_to("loop")
    (data_dir / "baton.toml").write_text(f'{setting} = "loop"\n{USERS}')
    assert_config_error(baton(*PATH_SETTINGS[setting]), setting, "loop",
                        "Too many levels of symbolic links")


@pytest.mark.parametrize("setting", ["data_dir", "workspace"])
def test_a_link_loop_beside_http_tools_is_reported_not_resolved(baton, data_dir, setting):
    """The tables are checked against the built-in tools, which were given the resolved
    workspace: Python 3.11's ``resolve`` raised RuntimeError on the loop."""
    (data_dir / "loop").symlink_to("loop")
    (data_dir / "baton.toml").write_text(
        f'{setting} = "loop"\n{USERS}[[tools.http]]\nname = "x.y"\n'
        'url = "https://x.example"\ndescription = "d"\n')
    assert_config_error(baton("tools", "list"), setting, "symbolic links")


def test_a_data_dir_that_links_to_itself_is_a_configuration_error(baton, data_dir):
    (data_dir / ".baton").symlink_to(".baton")  # the default data_dir
    assert_config_error(baton("plans", "list"), "data_dir", "symbolic links")


@pytest.mark.parametrize("setting", ["data_dir", "workspace", "templates_dir", "policies_dir"])
def test_a_path_setting_under_a_parent_that_cannot_be_searched_is_a_configuration_error(
        baton, data_dir, setting, monkeypatch):
    inside = data_dir / "closed" / "dir"
    refuse_stat(monkeypatch, inside)  # as os.stat answers under a parent without search rights
    done = baton(*PATH_SETTINGS[setting], **{f"BATON_{setting.upper()}": str(inside)})
    assert_config_error(done, setting, f"BATON_{setting.upper()}", str(inside),
                        "cannot be read: Permission denied")


def test_a_data_dir_under_a_chmod_000_parent_is_a_configuration_error(data_dir):
    (data_dir / "baton.toml").write_text(USERS)
    closed = data_dir / "closed"
    (closed / "dir").mkdir(parents=True)
    with mode(closed, 0o000):
        done = run_where_modes_bind(sys.executable, "-m", "baton", "plans", "list",
                                    cwd=data_dir, env={"BATON_DATA_DIR": str(closed / "dir")})
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "data_dir" in done.stderr and "cannot be read: Permission denied" in done.stderr


def test_a_data_dir_that_is_not_utf8_is_a_configuration_error(baton, data_dir):
    done = baton("plans", "list", BATON_DATA_DIR=str(data_dir / NOT_UTF8))
    assert_config_error(done, "data_dir", "BATON_DATA_DIR", f"{data_dir}/d\\xff",
                        "must be valid UTF-8")


def test_the_default_data_dir_in_a_directory_that_is_not_utf8_is_a_configuration_error(
        baton, data_dir, monkeypatch):
    workspace = data_dir / NOT_UTF8
    workspace.mkdir()
    (workspace / "baton.toml").write_text(USERS)
    monkeypatch.chdir(workspace)
    done = baton("plans", "list")
    assert_config_error(done, "data_dir", f"{data_dir}/d\\xff/.baton", "must be valid UTF-8")


def test_the_demo_in_a_directory_that_is_not_utf8_is_a_configuration_error(baton, data_dir):
    done = baton("demo", "--dir", str(data_dir / NOT_UTF8))
    assert_config_error(done, "data_dir", "d\\xff", "must be valid UTF-8")


def test_a_data_dir_that_is_not_utf8_holding_no_database_is_fine(data_dir):
    settings = Settings(data_dir=data_dir / NOT_UTF8,
                        database_url=f"sqlite:///{data_dir / 'baton.db'}")
    assert check_settings(settings) == []


def test_other_path_settings_that_are_not_utf8_plan_as_any_other(baton, data_dir):
    """Nothing names them in a URL: the workspace, templates and policies work as they are."""
    policies = data_dir / os.fsdecode(b"policies\xfe")
    shutil.copytree(SHIPPED_DIR, policies)
    done = baton("--as", "alice", "plan", GOAL, BATON_POLICIES_DIR=str(policies),
                 BATON_WORKSPACE=str(data_dir / os.fsdecode(b"files\xfe")),
                 BATON_TEMPLATES_DIR=str(data_dir / os.fsdecode(b"templates\xfe")))
    assert done.returncode == 0, (done.stdout, done.stderr)


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_database_port_out_of_range_is_a_configuration_error(baton, port):
    url = f"postgresql+psycopg://u@127.0.0.1:{port}/db"
    assert f"its port {port} is not from 1 to 65535" in (database_url_problem(url) or "")
    done = baton("plans", "list", BATON_DATABASE_URL=url)
    assert_config_error(done, "database_url", "BATON_DATABASE_URL", f"port {port}")


def test_the_highest_database_port_is_a_port():
    assert database_url_problem("postgresql+psycopg://u@127.0.0.1:65535/db") is None


def test_a_settings_file_that_cannot_be_looked_at_is_a_configuration_error(baton, data_dir,
                                                                           monkeypatch):
    config = data_dir / "closed" / "baton.toml"
    refuse_stat(monkeypatch, config)  # Path.exists raised PermissionError on Python 3.11
    assert_config_error(baton("--config", str(config), "plans", "list"),
                        f"cannot read settings file {config}: Permission denied")


def test_a_settings_file_that_links_to_itself_is_a_configuration_error(baton, data_dir):
    (data_dir / "baton.toml").unlink()
    (data_dir / "baton.toml").symlink_to("baton.toml")  # read as if there were none
    assert_config_error(baton("plans", "list"), "cannot read settings file baton.toml",
                        "symbolic links")


def test_a_running_process_refuses_its_users_while_the_file_cannot_be_looked_at(data_dir,
                                                                                 monkeypatch):
    config = data_dir / "baton.toml"
    config.write_text(USERS)
    live = LiveSettings(load_settings(config, environ={}))
    with pytest.MonkeyPatch.context() as closed:
        refuse_stat(closed, config)
        with pytest.raises(SettingsFileError, match="Permission denied"):
            live.now()
        with pytest.raises(SettingsFileError):  # still, not the users it had before
            live.now()
    assert set(live.now().users) == {"alice"}
