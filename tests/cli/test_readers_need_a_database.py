"""Read-only commands never create the database: a SQLite file that is not there is an error.

An auditor whose ``data_dir`` has a typo must not be told "ledger intact: 0 events".
"""

from __future__ import annotations

import pytest

from tests.support.cli_in_process import in_process_baton

READERS = [
    ("audit", "show"),
    ("audit", "verify"),
    ("audit", "export"),
    ("runs", "list"),
    ("runs", "show", "r-00000000"),
    ("plans", "list"),
    ("plans", "show", "p-00000000"),
]


@pytest.fixture
def baton(data_dir, capsys):
    """``baton`` in-process, in a directory with a settings file and no database."""
    (data_dir / "baton.toml").write_text('data_dir = "typo_dir"\n')
    with in_process_baton(capsys) as run:
        yield run


def assert_refused(done, *names: str) -> None:
    """Exit 1, one ``error:`` line naming each of ``names``, nothing on stdout."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert done.stdout == ""


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_reader_refuses_a_data_dir_without_a_database_and_creates_nothing(baton, data_dir,
                                                                          command):
    done = baton(*command)
    assert_refused(done, str(data_dir / "typo_dir" / "baton.db"), "data_dir",
                   str(data_dir / "baton.toml"))
    assert not (data_dir / "typo_dir").exists()


def test_the_data_dir_from_the_environment_is_named(baton, data_dir, monkeypatch):
    monkeypatch.setenv("BATON_DATA_DIR", str(data_dir / "elsewhere"))
    assert_refused(baton("audit", "verify"), str(data_dir / "elsewhere" / "baton.db"),
                   "BATON_DATA_DIR")
    assert not (data_dir / "elsewhere").exists()


def test_the_default_data_dir_is_named(baton, data_dir):
    (data_dir / "baton.toml").unlink()
    assert_refused(baton("audit", "verify"), str(data_dir / ".baton" / "baton.db"),
                   "default data_dir")
    assert not (data_dir / ".baton").exists()


def test_a_database_url_from_the_environment_is_named(baton, data_dir, monkeypatch):
    missing = data_dir / "gone.db"
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{missing}")
    assert_refused(baton("runs", "list"), str(missing), "BATON_DATABASE_URL")
    assert not missing.exists()


def test_a_database_url_in_the_settings_file_is_named(baton, data_dir):
    missing = data_dir / "no" / "such.db"
    (data_dir / "baton.toml").write_text(f'database_url = "sqlite:///{missing}"\n')
    assert_refused(baton("audit", "export"), str(missing), "database_url",
                   str(data_dir / "baton.toml"))
    assert not (data_dir / "no").exists()


def test_a_writer_still_creates_the_database_and_readers_then_read_it(baton, data_dir):
    assert baton("worker", "--once").returncode == 0
    assert (data_dir / "typo_dir" / "baton.db").is_file()
    done = baton("audit", "verify")
    assert done.returncode == 0, done.stderr
    assert "ledger intact" in done.stdout


@pytest.mark.parametrize("command", [("tools", "list"), ("templates", "list"),
                                     ("policy", "show")], ids=" ".join)
def test_readers_that_need_no_database_still_work_without_one(baton, data_dir, command):
    done = baton(*command)
    assert done.returncode == 0, done.stderr
    assert not (data_dir / "typo_dir" / "baton.db").exists()


def test_a_corrupt_file_is_reported_as_unreadable_not_as_an_upgrade(baton, data_dir):
    (data_dir / "typo_dir").mkdir()
    (data_dir / "typo_dir" / "baton.db").write_text("not a database\n" * 100)
    done = baton("audit", "verify")
    assert_refused(done, str(data_dir / "typo_dir" / "baton.db"), "not a database")
    assert "upgrade" not in done.stderr
