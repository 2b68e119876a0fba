"""The settings file must be a regular file of at most 4 MiB: anything else is one line, exit 2.

``baton --config /dev/zero plans list`` read without end (and a FIFO with no writer blocked):
only a regular file is read, as for plan files (``planner.loading.file_problem``), and at
most ``MAX_SETTINGS_BYTES`` of it.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from baton.settings import ConfigError, load_settings
from baton.settings_file import MAX_SETTINGS_BYTES
from tests.support.cli_in_process import in_process_baton

USERS = '[users.alice]\nroles = ["analyst"]\n'


@pytest.fixture
def baton(data_dir, capsys):
    with in_process_baton(capsys) as run:
        yield run


def _one_error_line(done) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


@contextmanager
def _fed_fifo(path: Path) -> Iterator[None]:
    """A FIFO at ``path`` written valid settings whenever it is opened to read, so that a
    command that reads it ends (and fails the test) instead of blocking."""
    os.mkfifo(path)
    done = threading.Event()

    def feed() -> None:
        while not done.wait(0.01):
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # no reader yet
                    continue
                raise
            with os.fdopen(descriptor, "wb") as fifo:
                fifo.write(USERS.encode())

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        yield
    finally:
        done.set()
        feeder.join()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("how", ["option", "variable"])
def test_a_device_is_refused_unread(baton, how):
    args, env = ((["--config", "/dev/zero"], {}) if how == "option"
                 else ([], {"BATON_CONFIG": "/dev/zero"}))
    line = _one_error_line(baton(*args, "--as", "alice", "plans", "list", env=env))
    assert "settings file '/dev/zero' is not a regular file" in line


def test_a_fifo_is_refused_unread(baton, data_dir):
    with _fed_fifo(data_dir / "pipe.toml"):
        line = _one_error_line(baton("--config", "pipe.toml", "--as", "alice", "plans", "list"))
    assert "settings file 'pipe.toml' is not a regular file" in line


def test_a_fifo_found_as_the_default_settings_file_is_refused_too(baton, data_dir):
    with _fed_fifo(data_dir / "baton.toml"):
        line = _one_error_line(baton("--as", "alice", "plans", "list"))
    assert "'baton.toml' is not a regular file" in line


def test_a_directory_is_named_as_one(baton, data_dir):
    (data_dir / "conf").mkdir()
    line = _one_error_line(baton("--config", "conf", "--as", "alice", "plans", "list"))
    assert "settings file 'conf' is a directory, not a file" in line


def test_a_file_past_the_cap_is_refused_naming_the_cap(baton, data_dir):
    with (data_dir / "huge.toml").open("wb") as huge:
        huge.truncate(5 * 2**30)  # sparse: 5 GiB that take no disk
    line = _one_error_line(baton("--config", "huge.toml", "--as", "alice", "plans", "list"))
    assert "settings file" in line and "huge.toml" in line and "4 MiB" in line


def test_a_file_at_the_cap_is_read_and_one_byte_more_is_not(data_dir):
    padding = "# " + "x" * (MAX_SETTINGS_BYTES - len(USERS) - 3) + "\n"
    (data_dir / "big.toml").write_text(USERS + padding)
    assert (data_dir / "big.toml").stat().st_size == MAX_SETTINGS_BYTES
    assert load_settings("big.toml", environ={}).users["alice"].roles == ("analyst",)
    (data_dir / "big.toml").write_text(USERS + "#" + padding)
    with pytest.raises(ConfigError, match="4 MiB"):
        load_settings("big.toml", environ={})
