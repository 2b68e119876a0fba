"""Run the ``baton`` entry point in-process (fast), leaving logging as the test found it."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog

from baton.cli.main import main


@contextmanager
def in_process_baton(capsys) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """A ``run(*args)`` giving what a ``baton`` subprocess would: exit code, stdout, stderr."""
    saved_structlog = structlog.get_config()
    saved_handlers = list(logging.getLogger().handlers)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["baton", *args], code, out, err)

    try:
        yield run
    finally:
        # The CLI configures logging for the process; leave it as other tests found it.
        structlog.configure(**saved_structlog)
        logging.getLogger().handlers[:] = saved_handlers
