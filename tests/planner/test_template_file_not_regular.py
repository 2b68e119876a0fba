"""A template entry that is not a regular file is refused unread, naming it.

A FIFO named ``evil.v1.yaml`` in the templates directory (or a link to ``/dev/zero``)
was read like a file: every command that loads templates waited on the pipe for ever
(or read without end).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from planner.templates import TemplateError, TemplateLibrary, read_new_template

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero")


def _refused_without_waiting(read, fifo: Path) -> TemplateError:
    """What ``read()`` raised; a read stuck on the pipe is let go and the test fails."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            read()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001  (handed to the test's thread)
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer that ends: EOF
        worker.join(timeout=10)
        pytest.fail("reading the template waited on the pipe")
    assert isinstance(outcome[0], TemplateError), outcome[0]
    return outcome[0]


def test_a_fifo_in_the_templates_directory_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "evil.v1.yaml"
    os.mkfifo(fifo)
    problem = _refused_without_waiting(lambda: TemplateLibrary.load([tmp_path]), fifo)
    assert str(fifo) in problem.message
    assert "not a regular file" in problem.message


def test_a_template_added_from_a_pipe_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "new.yaml"
    os.mkfifo(fifo)
    problem = _refused_without_waiting(lambda: read_new_template(fifo), fifo)
    assert "not a regular file" in problem.message


def test_a_link_to_a_device_in_the_templates_directory_is_refused_unread(tmp_path):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    (tmp_path / "zero.v1.yaml").symlink_to("/dev/zero")
    with pytest.raises(TemplateError, match="not a regular file"):
        TemplateLibrary.load([tmp_path])


def test_a_directory_named_like_a_template_is_refused_as_one(tmp_path):
    (tmp_path / "dir.v1.yaml").mkdir()
    with pytest.raises(TemplateError, match="is a directory, not a file"):
        TemplateLibrary.load([tmp_path])
