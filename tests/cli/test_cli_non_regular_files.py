"""A file the CLI reads must be a regular file: a device or a pipe is refused (exit 2).

``baton validate /dev/zero`` read 1.6 GB in 8 s and went on; a FIFO with no writer blocked it.
``baton templates add DIR`` said "no template file DIR" instead of naming a directory.
"""

from __future__ import annotations

import errno
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

COMMANDS = [["validate"], ["--as", "alice", "plan", "--file"], ["--as", "alice", "policy", "eval"],
            ["--as", "alice", "policy", "input"], ["--as", "root", "templates", "add"]]


def _what(args: list[str]) -> str:
    return "template file" if "templates" in args else "plan file"


@contextmanager
def _fifo_fed_a_plan(path: Path) -> Iterator[None]:
    """A FIFO at ``path`` that is written a valid plan whenever something opens it to read.

    So that a command which reads it ends (and fails the test) instead of blocking on it.
    """
    os.mkfifo(path)
    done = threading.Event()
    plan = json.dumps({"goal": "g", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]}).encode()

    def feed() -> None:
        while not done.wait(0.01):
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # no reader yet
                    continue
                raise
            with os.fdopen(descriptor, "wb") as fifo:
                fifo.write(plan)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        yield
    finally:
        done.set()
        feeder.join()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_device_is_refused_unread(cli, args):
    done = cli(*args, "/dev/zero")
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"error: {_what(args)} '/dev/zero' is not a regular file (a device, "
                           "pipe or socket); save the document to a file and name that\n")


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_pipe_is_refused_unread(cli, data_dir, args):
    with _fifo_fed_a_plan(data_dir / "plan.fifo"):
        done = cli(*args, "plan.fifo")
    assert done.returncode == 2, done.stderr
    assert "'plan.fifo' is not a regular file" in done.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_directory_is_named_as_one(cli, data_dir, args):
    (data_dir / "plans").mkdir()
    done = cli(*args, "plans")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: {_what(args)} 'plans' is a directory, not a file\n"


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_missing_file_is_named(cli, args):
    done = cli(*args, "nowhere.yaml")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: {_what(args)} 'nowhere.yaml' does not exist\n"
