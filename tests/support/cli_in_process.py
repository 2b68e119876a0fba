"""Run the ``baton`` entry point in-process (fast), leaving logging as the test found it."""

from __future__ import annotations

import functools
import logging
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import pytest
import structlog
import typer.main

from baton.cli.main import main
from tests.support.python_reports import python_report_hooks, restore_python_report_hooks

# Typer builds the click command tree anew on every call (about 20 ms): a process runs one
# command, a test many. The tree is reusable (click's own test runner reuses commands).
_built_once = functools.cache(typer.main.get_command)


@contextmanager
def in_process_baton(capsys) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """A ``run(*args)`` giving what a ``baton`` subprocess would: exit code, stdout, stderr.

    ``run(*args, env={NAME: value})`` sets those variables for that call only (``None``:
    unset), as a subprocess given that environment would see them.
    """
    saved_structlog = structlog.get_config()
    saved_handlers = list(logging.getLogger().handlers)
    saved_hooks = python_report_hooks()

    def run(*args: str,
            env: Mapping[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(typer.main, "get_command", _built_once)
            for name, value in (env or {}).items():
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
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
        restore_python_report_hooks(saved_hooks)
