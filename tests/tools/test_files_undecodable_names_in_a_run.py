"""A run that lists a directory holding a name that is not UTF-8, then reads that file.

The executor refuses to store an output holding a lone surrogate (``tool_output_not_utf8``),
which is what ``os.listdir`` hands back for such a name; ``files.list`` escapes it, so the
run stores the listing, and the escaped path, passed on by reference, reads that very file.
"""

from __future__ import annotations

import os

from executor.ledger import Ledger
from executor.records import RunStatus
from tests.executor.conftest import db_url, empty_engine, engine  # noqa: F401 - fixtures
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolRegistry
from tools.builtin import register_builtin_tools


def test_a_run_lists_a_name_that_is_not_utf8_and_reads_the_file_by_reference(engine, tmp_path):
    workspace = tmp_path / "ws"
    os.makedirs(os.fsencode(workspace) + b"/in")
    fd = os.open(os.fsencode(workspace) + b"/in/r\xe9sum\xe9.csv", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"amount\n3\n")
    os.close(fd)
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=workspace)

    record = run_plan(make_runner(engine, registry, tmp_path), engine, {"goal": "g", "steps": [
        {"id": "ls", "tool": "files.list", "args": {"path": "in"}},
        {"id": "load", "tool": "files.read", "args": {"path": {"ref": "ls.entries.0.path"}}}]})

    assert record.status is RunStatus.SUCCEEDED, record.error
    listing, loaded = (step.output for step in record.steps)
    assert listing == {"entries": [{"path": "in/r\\xe9sum\\xe9.csv", "path_encoding": "escaped",
                                    "size": 9, "is_dir": False}]}
    assert loaded["text"] == "amount\n3\n" and loaded["path"] == "in/r\\xe9sum\\xe9.csv"
    assert Ledger(engine).verify().ok
